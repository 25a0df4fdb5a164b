"""Under the Content-Security-Policy the pages still work, and the browser reports no
violation: every script and style the app uses is its own file (htmx included)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import chromium, contexts, open_page, server  # noqa: F401

pytestmark = pytest.mark.browser

# Recorded by the page itself: Chromium fires this event for every blocked script, style,
# inline handler or eval.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__violations || []"))


def test_pages_work_with_no_csp_violation(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions,
    world: World,
    tmp_path,
):
    convo = text_in(sessions, world, body="Hello from a customer")
    page = open_page(chromium, contexts, server, "admin@example.com")
    page.context.add_init_script(WATCH)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    seen: dict[str, list[str]] = {}

    page.goto(f"/inbox/{convo.id}")
    page.wait_for_load_state("load")
    # htmx at work: an out-of-band swap answer, the request indicator, the composer.
    page.fill(".note-form textarea[name=text]", "checked under the CSP")
    page.locator(".note-form button[type=submit]").click()
    expect(page.locator(".notes")).to_contain_text("checked under the CSP")
    page.fill("#composer-body", "Hi {{ contact.first_name }}")
    expect(page.locator("#segment-counter")).to_contain_text("segment")  # app.js ran
    seen["inbox"] = _violations(page)
    page.screenshot(path=str(tmp_path / "inbox.png"))

    for path in (
        "/list",
        "/cards",
        "/new",
        "/contacts",
        f"/contacts/{convo.contact_id}/merge",
        "/account",
        "/settings/api-keys",
        "/settings/channels",
    ):
        page.goto(path)
        page.wait_for_load_state("load")
        seen[path] = _violations(page)
        page.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '-')}.png"))

    # A data-confirm form (the replacement of inline onclick="return confirm(...)").
    page.goto("/settings/users")
    page.wait_for_load_state("load")
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))  # open_page accepts it
    page.locator(f"#user-{world.other_agent.id} form[action$='/sign-out'] button").click()
    expect(page.locator(".notice")).to_contain_text("signed out everywhere")
    page.screenshot(path=str(tmp_path / "users.png"))
    assert asked and "Sign Olive Other out" in asked[0]
    seen["users"] = _violations(page)

    page.goto("/simulator?number=%2B12025550123")
    page.wait_for_load_state("load")
    page.fill("#body", "texted from the simulator")
    page.click("#send")
    expect(page.locator("#thread")).to_contain_text("texted from the simulator")
    seen["simulator"] = _violations(page)

    assert all(found == [] for found in seen.values()), seen
    assert [line for line in console if "Content Security Policy" in line] == []


def test_api_docs_render_from_the_apps_own_files(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    world: World,
):
    """Swagger UI and ReDoc come from web/static/vendor: no request leaves the app. ReDoc's
    menu always asks for its maker's logo on their CDN; the policy refuses it (the viewer then
    hides the image), which is the one violation the page reports."""
    page = open_page(chromium, contexts, server, "admin@example.com")
    page.context.add_init_script(WATCH)
    outside: list[str] = []  # requests for anywhere but the app, the refused logo aside

    def watch(url: str) -> None:
        if url.startswith(("http:", "https:")) and not url.startswith((server, REDOC_LOGO)):
            outside.append(url)

    page.on("request", lambda request: watch(request.url))
    page.goto("/docs")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("Durable Inbox")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    docs_violations = _violations(page)
    screenshots.shot(page, "api-docs")
    page.goto("/redoc")
    expect(page.locator("h1").first).to_contain_text("Durable Inbox")
    expect(page.get_by_text("/api/v1/conversations").first).to_be_attached()
    redoc_violations = _violations(page)
    assert outside == []
    assert docs_violations == []
    assert set(redoc_violations) <= {f"img-src {REDOC_LOGO}"}
