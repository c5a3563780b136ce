"""`make screenshots`: PNGs of the main pages at desktop and phone widths, in the light and the
dark theme (the system's setting, which the theme Auto follows), in docs/screenshots/.

Starts the server the way the browser tests do (its own SQLite file, seeded, on 127.0.0.1) and
fails if a page requests anything outside the app or reports a console error.

    .venv/bin/python -m tests.browser.screenshots [output directory]
"""

from __future__ import annotations

import sys
import tempfile
from itertools import product
from pathlib import Path

from tests.browser.helpers import BROWSER_MISSING, SKIP_REASON, PageWatch, launch_chromium, log_in
from tests.browser.server import PROJECT_ROOT, running_server

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
THEMES = ("light", "dark")
# file name -> (who is logged in, or None, and the path)
PAGES = {
    "landing": (None, "/"),
    "dashboard": ("pilot", "/"),
    "catalog": ("pilot", "/planets"),
    "console": ("ada", "/admin/"),
    "console-planets": ("ada", "/admin/planet/"),
    "audit-log": ("ada", "/admin/audit/"),
}


def take_screenshots(output: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    output.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as workdir, running_server(Path(workdir)) as server, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for (width_name, viewport), theme in product(WIDTHS.items(), THEMES):
            contexts = {}
            for name, (username, path) in PAGES.items():
                if username not in contexts:
                    context = browser.new_context(base_url=server.url, viewport=viewport,
                                                  device_scale_factor=1, color_scheme=theme)
                    page = context.new_page()
                    watch = PageWatch(server.url)
                    page.on("request", watch.on_request)
                    page.on("console", watch.on_console)
                    page.on("pageerror", watch.on_page_error)
                    if username:
                        log_in(page, username)
                    contexts[username] = (context, page, watch)
                _context, page, watch = contexts[username]
                page.goto(path)
                page.wait_for_load_state("networkidle")
                target = output / f"{name}-{width_name}-{theme}.png"
                page.screenshot(path=str(target))
                written.append(target)
                problems = watch.foreign_requests + watch.unexpected_errors()
                if problems:
                    raise SystemExit(f"{path} as {username}: " + "; ".join(problems))
            for context, _page, _watch in contexts.values():
                context.close()
        browser.close()
    return written


def main() -> None:
    if BROWSER_MISSING:
        raise SystemExit(SKIP_REASON.replace("browser tests skipped", "no screenshots taken"))
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs" / "screenshots"
    for path in take_screenshots(output):
        print(f"{path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}"
              f" ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
