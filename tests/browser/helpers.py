"""Shared by the browser tests and the screenshot script: launching Chromium, watching a page
for foreign requests and console errors, logging in and out through the forms."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.browser.server import PASSWORD
from tests.smtp import Mailbox, link_in

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # playwright is in the dev extra; without it the tests are skipped
    expect = sync_playwright = None

BROWSER_MISSING = sync_playwright is None or not CHROMIUM.exists()
SKIP_REASON = "Chromium not installed: browser tests skipped"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


class PageWatch:
    """What a page did that a test must not let pass: foreign requests and console errors."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.foreign_requests: list[str] = []
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []

    def allow_error(self, pattern: str) -> None:
        """Expect a console error, e.g. the browser's note on a 403 page's status."""
        self.allowed.append(re.compile(pattern))

    def on_request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(request.url)

    def on_console(self, message) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.errors.append(f"console: {message.text} ({location})")

    def on_page_error(self, error) -> None:
        self.errors.append(f"page error: {error}")

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]



def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Log in through the form as a person would, from wherever the page is."""
    if "/login" not in page.url:
        page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("form[action$=\"/logout\"] button")).to_be_attached()


def mail_link(mailbox: Mailbox, address: str, subject: str, path: str) -> str:
    """The link to `path` ("/confirm-email") in the newest mail about `subject` that the
    server sent `address`, as the loopback SMTP server received it."""
    return link_in(mailbox.wait_for(address, subject), path)


def confirm_address(page, mailbox: Mailbox, address: str) -> None:
    """Follow the confirmation link of the newest mail to `address` and press its button."""
    page.goto(mail_link(mailbox, address, "Confirm your email address", "/confirm-email"))
    page.get_by_role("button", name="Yes, confirm my address").click()
    expect(page.get_by_role("alert").first).to_contain_text(f"{address} is confirmed")


def bulk_action(page, name: str) -> None:
    """Choose `name` under the console list's "With selected" (Bootstrap's dropdown: it opens
    only once the page's scripts have run, so wait for the page's load first)."""
    page.wait_for_load_state("load")
    page.get_by_role("button", name="With selected").or_(
        page.get_by_role("link", name="With selected")).click()
    choice = page.get_by_role("link", name=name, exact=True)
    expect(choice).to_be_visible()
    choice.click()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()


# Run in the page: the accessibility basics every page must meet, as a list of problems.
ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  const lang = document.documentElement.getAttribute("lang");
  if (!lang || !lang.trim()) problems.push("<html> has no lang attribute");
  const h1s = document.querySelectorAll("h1");
  if (h1s.length !== 1) problems.push(`${h1s.length} h1 elements instead of one`);
  const describe = (el) => el.outerHTML.slice(0, 120);
  const named = (el) => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const by = el.getAttribute("aria-labelledby");
    const text = (id) => (document.getElementById(id)?.textContent || "").trim();
    if (by && by.split(/\\s+/).some(text)) return true;
    if ((el.getAttribute("title") || "").trim()) return true;
    if ((el.textContent || "").trim()) return true;
    if ((el.value || "").trim() && el.tagName === "INPUT") return true;
    return [...el.querySelectorAll("img[alt], svg title")]
      .some((x) => (x.getAttribute("alt") || x.textContent).trim());
  };
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset", "image"].includes(field.type)) continue;
    const labelled = (field.labels && [...field.labels].some((l) => l.textContent.trim()))
      || (field.getAttribute("aria-label") || "").trim() || field.getAttribute("aria-labelledby")
      || (field.getAttribute("title") || "").trim();
    if (!labelled) problems.push(`form field without a label: ${describe(field)}`);
  }
  const controls = "a[href], button, [role=button], input[type=submit], input[type=button]";
  for (const el of document.querySelectorAll(controls)) {
    if (!named(el)) problems.push(`no accessible name: ${describe(el)}`);
  }
  return problems;
}"""


# In the browser's own accessibility tree: a link or button whose name is empty or only an icon
# font's glyph (Unicode private use area), e.g. `- link ""` or `- button "\uf1f8"`.
UNNAMED = re.compile(r'^\s*- (link|button)(?: "[\s\ue000-\uf8ff]*")?:?$', re.MULTILINE)


def assert_accessible(page) -> None:
    """One h1, a lang attribute, labelled fields, named buttons and links on the current page
    (once it is parsed: right after a click, the page it leads to may have only begun)."""
    page.wait_for_load_state("domcontentloaded")
    problems = page.evaluate(ACCESSIBILITY_PROBLEMS)
    tree = page.locator("body").aria_snapshot()
    problems += [f"no accessible name in the accessibility tree: {m.group(0).strip()}"
                 for m in UNNAMED.finditer(tree)]
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  return {tag: el.tagName, text: (el.textContent || el.name || "").trim().slice(0, 40),
          visible: Boolean(outline || shadow)};
}"""


def focused_element_style(page) -> dict | None:
    """The focused element and whether its focus is visible (an outline or a box shadow)."""
    return page.evaluate(FOCUS_STYLE)
