"""Under the Content-Security-Policy the pages still work, and the browser reports no
violation: every script and style the app uses is its own file (htmx included)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import chromium, contexts, open_page, server  # noqa: F401

pytestmark = pytest.mark.browser

# Recorded by the page itself: Chromium fires this event for every blocked script, style,
# inline handler or eval. Kept in the tab's sessionStorage, so what any page of the visit
# reported (the sign-in pages, a page after it was last read) is still there at the end;
# where and what was blocked go along, to say which page and which code did it.
WATCH = """
document.addEventListener('securitypolicyviolation', (e) => {
  const seen = JSON.parse(sessionStorage.getItem('violations') || '[]');
  seen.push({
    violation: e.violatedDirective + ' ' + (e.blockedURI || 'inline'),
    where: location.pathname + ' ' + (e.sourceFile || '') + ':' + e.lineNumber,
    sample: e.sample,
  });
  sessionStorage.setItem('violations', JSON.stringify(seen));
});
"""


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _violations(page: Page) -> list[dict[str, str]]:
    """Every violation reported in this tab so far."""
    return list(page.evaluate("JSON.parse(sessionStorage.getItem('violations') || '[]')"))


def _watch(console: list[str]) -> Callable[[Page], None]:
    """Installs WATCH on every page of the tab, and keeps the console's errors with the page
    they came from (Chromium logs each violation there too)."""

    def watch(page: Page) -> None:
        page.context.add_init_script(WATCH)

        def log(message: ConsoleMessage) -> None:
            if message.type == "error":
                console.append(f"{page.url} {message.location} {message.text}")

        page.on("console", log)

    return watch


def test_pages_work_with_no_csp_violation(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions,
    world: World,
    tmp_path,
):
    convo = text_in(sessions, world, body="Hello from a customer")
    console: list[str] = []
    page = open_page(chromium, contexts, server, "admin@example.com", watch=_watch(console))

    page.goto(f"/inbox/{convo.id}")
    page.wait_for_load_state("load")
    # htmx at work: an out-of-band swap answer, the request indicator, the composer.
    page.fill(".note-form textarea[name=text]", "checked under the CSP")
    page.locator(".note-form button[type=submit]").click()
    expect(page.locator(".notes")).to_contain_text("checked under the CSP")
    page.fill("#composer-body", "Hi {{ contact.first_name }}")
    expect(page.locator("#segment-counter")).to_contain_text("segment")  # app.js ran
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

    page.goto("/simulator?number=%2B12025550123")
    page.wait_for_load_state("load")
    page.fill("#body", "texted from the simulator")
    page.click("#send")
    expect(page.locator("#thread")).to_contain_text("texted from the simulator")

    assert _violations(page) == []
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
    console: list[str] = []
    page = open_page(chromium, contexts, server, "admin@example.com", watch=_watch(console))
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
    redoc_violations = _violations(page)[len(docs_violations) :]
    assert outside == []
    assert docs_violations == []
    assert {v["violation"] for v in redoc_violations} <= {f"img-src {REDOC_LOGO}"}
