"""Settings → Automation lists the rules in force with their waits; a business wait says so."""

from __future__ import annotations

import re

from inbox.settings import Settings


def test_the_rule_list_shows_a_business_wait(login, app_settings: Settings) -> None:
    (app_settings.rules_dir / "rules.yaml").write_text(
        "- name: nudge\n  trigger: message_received\n  wait: 2h\n  business: true\n"
        "  then:\n    - add_note: hi\n"
        "- name: plain\n  trigger: message_received\n  wait: 2h\n  then:\n    - add_note: hi\n"
        "- name: now\n  trigger: message_received\n  then:\n    - add_note: hi\n"
    )
    html = login("admin@example.com").get("/settings/automation").text
    shown = {
        name: re.sub(r"\s+", " ", rest)
        for name, rest in re.findall(r"<strong>([a-z]+)</strong> <small[^>]*>([^<]*)<", html)
    }
    assert shown["nudge"] == "message_received · waits 2h (business hours)"
    assert shown["plain"] == "message_received · waits 2h"
    assert shown["now"] == "message_received"
