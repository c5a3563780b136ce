"""Fixtures for the browser tests: one real server and one Chromium per run, a fresh browser
context per test, and a page that fails its test on any request outside the app's origin, any
console error (Content-Security-Policy violations included) and any uncaught page error.

The server uses a database of its own (see server.py): a SQLite file, or in CI's PostgreSQL pass a
private schema. Every wait, an action's or an assertion's, lasts up to WAIT_MS: CI runs its two
passes side by side on two cores, where a page can take seconds to answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import helpers
from tests.browser.helpers import (
    SKIP_REASON,
    PageWatch,
    launch_chromium,
    sync_playwright,
)
from tests.browser.server import Server, running_server

WAIT_MS = 15_000
if helpers.expect is not None:
    helpers.expect.set_options(timeout=WAIT_MS)


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if helpers.BROWSER_MISSING:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def watch(server: Server) -> PageWatch:
    return PageWatch(server.url)


@pytest.fixture
def new_page(browser, server: Server, watch: PageWatch):
    """A factory of pages, each in its own browser context (its own cookies): new_page()."""
    contexts = []

    def make(**context_options):
        context = browser.new_context(base_url=server.url, accept_downloads=True,
                                      viewport={"width": 1280, "height": 800}, **context_options)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("request", watch.on_request)
        page.on("console", watch.on_console)
        page.on("pageerror", watch.on_page_error)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not watch.foreign_requests, f"requests outside the app: {watch.foreign_requests}"
    assert not watch.unexpected_errors(), "\n".join(watch.unexpected_errors())


@pytest.fixture
def page(new_page):
    return new_page()
