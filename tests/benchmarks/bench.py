"""`make bench`: the console, the JSON API and the member catalog at 1k and at 1M planets, side
by side with a stock Flask-Admin ModelView over the same table, checked against the targets of
"[5/6] Production and scale", and the console's record history with an audit log of 1M events
(one planet with 10,000 of them); then CSV imports of 100k and 1M rows through the planets
service ("[5/7] The mission office at work": a million rows under 90 s on SQLite, peak memory
under 200 MB and flat as the file grows), in a table of their own; and page 1 of searches for
a rare word, a common one, two words and one that matches nothing in the catalog, the API and
the console, beside stock Flask-Admin's ("[6/7] Search that finds what people type": at most
20 ms each at 1M planets). A report: the exit status is 0 even when targets fail.

    make bench                                  # SQLite files, cached in .bench-cache/
    make bench BENCH_ARGS="--rebuild --write-results"
    make bench BENCH_ARGS="--import-only --write-results"
    make bench BENCH_ARGS="--only console.p1 --only console.home"   # just those rows
    make bench BENCH_ARGS="--only search --write-results"           # the search rows
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test make bench

Options: --requests N (most requests per measurement), --budget S (seconds per measurement),
--small/--large (planet counts), --rebuild, --no-cache, --profile (cProfile and SQL of every
failing request), --write-results (the tables into tests/benchmarks/RESULTS.md), --import-only
or --no-import, --import-small/--import-large (rows of the import files), --only KEY (time only
the requests whose key starts with KEY, e.g. console.home; no exports, no imports; the table goes
into a section of its own).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from bench_apps import (
    admin_view,
    clean_environment,
    console_app,
    logged_in_client,
    send_logs_to,
    sort_indexes,
    sortable_names,
    stock_app,
)
from bench_data import (
    CACHE_DIR,
    Database,
    describe_database,
    log,
    postgres_databases,
    sqlite_database,
)
from bench_export import ExportResult, run_export
from bench_history import history_sizes, history_targets
from bench_import import (
    IMPORT_NOTES,
    POSTGRESQL_NOTE,
    describe_import_database,
    import_report,
    import_section,
    import_steps,
    measure_imports,
)
from bench_profile import profile_request
from bench_report import (
    SECTION,
    Check,
    Report,
    Row,
    at_most_ms_check,
    below_check,
    benchmark_section,
    machine_description,
    ratio_check,
    write_results,
)
from bench_timing import (
    deepest_link,
    follow_next_links,
    next_link,
    page_number,
    previous_link,
    time_each,
    time_interleaved,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import make_url

from console.history import HISTORY_PAGE_SIZE
from console.paging import MAX_OFFSET, Ordering, Position
from models import Planet, db

RESULTS_FILE = Path(__file__).with_name("RESULTS.md")
# Page 1 of a search for each kind of term ("[6/7] Search that finds what people type"); the
# synthetic planets' numbers hold "452" in about 4,000 names, "kepler" a third of their stars.
SEARCHES = {"rare": "452", "common": "kepler", "two-words": "kepler 452", "none": "zzzz"}
DEEP_PAGE = 10_000  # a page ~10,000 deep, 1-based
CONSOLE = "/admin/planet/"
HISTORY = f"{CONSOLE}history/"
HOME = "/admin/"
UNCACHED_HOME_REQUESTS = 20
# Targets of the issue.
SAME_PAGE_AT_SCALE = 1.25
DEEP_PAGE_LIMIT = 1.5
SORT_LIMIT = 2.0
SEARCH_LIMIT_MS = 20.0
STOCK_LIMIT = 0.6
EXPORT_PEAK_MB = 150.0
EXPORT_FIRST_BYTE_S = 1.0
EXPORT_TOTAL_S = 15.0
HISTORY_LIMIT = 1.5  # a record's first and last history page × the console's page 1
HOME_LIMIT = 1.5  # the console home × the console's page 1


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, metavar="N",
                        help="most timed requests per measurement (default 200)")
    parser.add_argument("--budget", type=float, default=8.0, metavar="SECONDS",
                        help="time per measurement; slow pages get fewer requests (at least 5)")
    parser.add_argument("--small", type=int, default=1_000, help="planets in the small database")
    parser.add_argument("--large", type=int, default=1_000_000,
                        help="planets in the large database")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    parser.add_argument("--no-cache", action="store_true",
                        help="build the SQLite databases in the temporary directory only")
    parser.add_argument("--export-timeout", type=float, default=120.0, metavar="SECONDS")
    parser.add_argument("--profile", action="store_true",
                        help="profile one request of every failing measurement")
    parser.add_argument("--write-results", action="store_true",
                        help=f"write the table into {RESULTS_FILE.name}")
    imports = parser.add_mutually_exclusive_group()
    imports.add_argument("--import-only", action="store_true",
                         help="measure only the CSV imports (no request or export timings)")
    imports.add_argument("--no-import", action="store_true", help="skip the CSV imports")
    parser.add_argument("--import-small", type=int, default=100_000, metavar="ROWS",
                        help="rows of the small import file (default 100,000)")
    parser.add_argument("--import-large", type=int, default=1_000_000, metavar="ROWS",
                        help="rows of the large import file (default 1,000,000)")
    parser.add_argument("--import-timeout", type=float, default=900.0, metavar="SECONDS")
    parser.add_argument("--only", action="append", default=[], metavar="KEY",
                        help="time only the requests whose key starts with KEY (repeatable; "
                             "e.g. console.p1, console.home); no exports or imports")
    return parser.parse_args(argv)


@dataclass
class Apps:
    """The console and the stock reference over one database, each with a client."""

    database: Database
    console: Flask
    console_client: FlaskClient
    stock: Flask
    stock_client: FlaskClient

    @property
    def label(self) -> str:
        return self.database.label


@contextmanager
def open_apps(database: Database, workdir: Path) -> Iterator[Apps]:
    console = console_app(database.url, workdir / f"instance-{database.label}")
    stock = stock_app(database.url)
    try:
        yield Apps(database, console, logged_in_client(console), stock, stock.test_client())
    finally:
        for app in (console, stock):
            with app.app_context():
                db.engine.dispose()


@dataclass(frozen=True)
class Probe:
    """One kind of request to time."""

    key: str
    label: str
    app: Flask
    client: FlaskClient
    url: str


@dataclass
class Bench:
    args: argparse.Namespace
    probes: list[Probe] = field(default_factory=list)
    rows: dict[str, Row] = field(default_factory=dict)
    exports: dict[str, ExportResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def wanted(self, key: str) -> bool:
        return not self.args.only or key.startswith(tuple(self.args.only))

    def console(self, apps: Apps, key: str, label: str, url: str) -> None:
        if self.wanted(key):
            self.probes.append(Probe(key, label, apps.console, apps.console_client, url))

    def stock(self, apps: Apps, key: str, label: str, url: str) -> None:
        if self.wanted(key):
            self.probes.append(Probe(key, label, apps.stock, apps.stock_client, url))

    def measure(self) -> None:
        """Time every planned probe, all interleaved in one run."""
        log(f"Timing {len(self.probes)} kinds of request, interleaved")
        timings = time_interleaved([(probe.client, probe.url) for probe in self.probes],
                                   self.args.requests, self.args.budget, progress=log)
        for probe, timing in zip(self.probes, timings, strict=True):
            self.rows[probe.key] = Row.timed(probe.label, timing)
            detail = timing.error or f"median {timing.median:,.1f} ms, p95 {timing.p95:,.1f} ms"
            log(f"  {probe.label}: {detail} (n={timing.count})")


def deep_page(planets: int, per_page: int) -> int:
    """Page DEEP_PAGE (1-based) when the list has it, else the middle page."""
    pages = -(-planets // per_page)
    return DEEP_PAGE if pages >= DEEP_PAGE else max(1, pages // 2)


def deepest_numbered_page(per_page: int) -> int:
    """The last page (1-based) that a page number reaches: it starts before MAX_OFFSET."""
    return -(-MAX_OFFSET // per_page)


def link_at_depth(app: Flask, first_next: str, key: ColumnElement, per_page: int, page: int,
                  *, zero_based: bool = False) -> str:
    """The Next link that page `page - 1` of a list shows, without walking there: page 1's Next
    link with the page number moved on and the cursor made, by the product's own Ordering, for
    the last row of page `page - 1` (found here with one OFFSET query). The list is sorted
    ascending by `key`, as page 1's link is."""
    url = urlsplit(first_next)
    args = parse_qs(url.query)
    cursor = args["after"][0]
    name = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))[0]
    with app.app_context():
        ordering = Ordering.on(db.engine.dialect.name, name, key, Planet.id)
        value, row_id = db.session.execute(
            select(key, Planet.id).order_by(*ordering.order_by())
            .offset((page - 1) * per_page - 1).limit(1)).one()
        args["after"] = [ordering.cursor(Position(value, row_id))]
    args["page"] = [str(page - 1 if zero_based else page)]  # Flask-Admin counts from 0
    return urlunsplit(url._replace(query=urlencode(args, doseq=True)))


# --- measurements -----------------------------------------------------------------------------


def plan_lists(bench: Bench, apps: Apps) -> None:
    """Page 1 of every list, at either size."""
    at = apps.label
    bench.console(apps, f"console.p1@{at}", f"console planet list page 1 @{at}", CONSOLE)
    bench.console(apps, f"console.home@{at}", f"console home {HOME} @{at}", HOME)
    bench.stock(apps, f"stock.p1@{at}", f"stock ModelView page 1 @{at}", CONSOLE)
    for name in ("user", "application", "audit"):
        bench.console(apps, f"console.{name}@{at}", f"console {name} list page 1 @{at}",
                      f"/admin/{name}/")
    bench.console(apps, f"api.p1@{at}", f"GET /api/planets page 1 @{at}", "/api/planets")
    bench.console(apps, f"site.p1@{at}", f"GET /planets page 1 @{at}", "/planets")


def plan_deep_pages(bench: Bench, apps: Apps, area: str, title: str, path: str,
                    first_next: str, key: ColumnElement, per_page: int, *,
                    zero_based: bool = False) -> None:
    """Page DEEP_PAGE by the pager's Next link, and the deepest page a number reaches."""
    at = apps.label
    page = deep_page(apps.database.planets, per_page)
    bench.console(apps, f"{area}.deep@{at}", f"{title} page {page:,} by the Next link @{at}",
                  link_at_depth(apps.console, first_next, key, per_page, page,
                                zero_based=zero_based))
    page = deepest_numbered_page(per_page)
    bench.console(apps, f"{area}.numbered@{at}",
                  f"{title} page {page:,} by number, the deepest one @{at}",
                  f"{path}?page={page - 1 if zero_based else page}")


def plan_console_at_scale(bench: Bench, apps: Apps) -> None:
    at = apps.label
    view = admin_view(apps.console, "planet")
    html = apps.console_client.get(CONSOLE).get_data(as_text=True)
    last = deepest_link(html)
    if last is None:
        bench.notes.append(f"The console's page 1 @{at} offers no numbered pager link.")
    else:
        shown = (page_number(last) or 0) + 1  # Flask-Admin counts pages from 0
        bench.console(apps, f"console.last@{at}",
                      f"console page {shown:,}, the furthest link of page 1's pager @{at}", last)
    plan_deep_pages(bench, apps, "console", "console", CONSOLE, next_link(html),
                    Planet.name_key(), view.page_size, zero_based=True)
    for name, index in sort_indexes(view, sortable_names(view)).items():
        bench.console(apps, f"console.sort.{name}@{at}", f"console sort by {name} @{at}",
                      f"{CONSOLE}?sort={index}")


def plan_api_and_site_at_scale(bench: Bench, apps: Apps) -> None:
    from console.api.parameters import DEFAULT_PER_PAGE, SORT_COLUMNS
    from console.site.views import PLANETS_PER_PAGE

    at = apps.label
    client = apps.console_client
    plan_deep_pages(bench, apps, "api", "GET /api/planets", "/api/planets",
                    client.get("/api/planets").get_json()["next"], Planet.name_key(),
                    DEFAULT_PER_PAGE)
    for name in SORT_COLUMNS:
        bench.console(apps, f"api.sort.{name}@{at}", f"GET /api/planets sort={name} @{at}",
                      f"/api/planets?sort={name}")
    plan_deep_pages(bench, apps, "site", "GET /planets", "/planets",
                    next_link(client.get("/planets").get_data(as_text=True)), Planet.name_key(),
                    PLANETS_PER_PAGE)


def plan_stock_at_scale(bench: Bench, apps: Apps) -> None:
    at = apps.label
    view = admin_view(apps.stock, "planet")
    page = deep_page(apps.database.planets, view.page_size)
    bench.stock(apps, f"stock.deep@{at}", f"stock page {page:,} @{at}",
                f"{CONSOLE}?page={page - 1}")
    # host_star has no index of its own (only lower(host_star) has); mass_earth has one.
    for name, index in sort_indexes(view, ["host_star", "mass_earth"]).items():
        bench.stock(apps, f"stock.sort.{name}@{at}", f"stock sort by {name} @{at}",
                    f"{CONSOLE}?sort={index}")


def plan_search_at_scale(bench: Bench, apps: Apps) -> None:
    """Page 1 of each kind of search in the catalog, the API and the console, with no sort
    chosen, and in the stock ModelView (ILIKE '%term%' on each word) as the reference."""
    at = apps.label
    for kind, term in SEARCHES.items():
        with apps.console.app_context():
            matches = db.session.scalar(select(func.count()).where(
                Planet.search(term, db.engine.dialect.name)))
        what = f"{term!r}, {kind}: {matches:,} planets"
        bench.console(apps, f"search.site.{kind}@{at}", f"GET /planets search {what} @{at}",
                      f"/planets?{urlencode({'q': term})}")
        bench.console(apps, f"search.api.{kind}@{at}", f"GET /api/planets search {what} @{at}",
                      f"/api/planets?{urlencode({'q': term})}")
        bench.console(apps, f"search.console.{kind}@{at}", f"console search {what} @{at}",
                      f"{CONSOLE}?{urlencode({'search': term})}")
        bench.stock(apps, f"search.stock.{kind}@{at}", f"stock ModelView search {what} @{at}",
                    f"{CONSOLE}?{urlencode({'search': term})}")


def plan_history_at_scale(bench: Bench, apps: Apps) -> None:
    """The history of the planet with the most events: its first page, its last page reached by
    following the Next links there, and the page before the last by that page's Previous link;
    and the first page of a planet with a few events, all in the full audit log."""
    if apps.database.history is None:
        return
    at = apps.label
    client = apps.console_client
    with apps.console.app_context():
        targets = history_targets()
    log(f"  history: the log holds {targets.log:,} events, planet {targets.busy_id} "
        f"{targets.busy_events:,}, planet {targets.quiet_id} {targets.quiet_events:,}")
    # As built: the benchmark's own login adds an event or two to the log in every run.
    log_size = f"log of {apps.database.history.log:,}"
    first = f"{HISTORY}?id={targets.busy_id}"
    bench.console(apps, f"history.first@{at}",
                  f"history page 1 of a planet with {targets.busy_events:,} events "
                  f"({log_size}) @{at}", first)
    started = time.perf_counter()
    last, pages, html = follow_next_links(client, first)
    shown = html.count('<section class="card')
    expected_pages = -(-targets.busy_events // HISTORY_PAGE_SIZE)
    expected_shown = targets.busy_events - (expected_pages - 1) * HISTORY_PAGE_SIZE
    log(f"  history: {pages:,} pages by Next links in {time.perf_counter() - started:.1f} s, "
        f"{shown} events on the last one")
    if (pages, shown) != (expected_pages, expected_shown):
        bench.notes.append(f"The history of planet {targets.busy_id} @{at} ended after {pages:,} "
                           f"pages with {shown} events on the last one; its "
                           f"{targets.busy_events:,} events make {expected_pages:,} pages, "
                           f"{expected_shown} on the last one.")
    bench.console(apps, f"history.last@{at}",
                  f"history page {pages:,}, its last, by {pages - 1:,} Next links @{at}", last)
    if pages > 1:
        bench.console(apps, f"history.previous@{at}",
                      f"history page {pages - 1:,} by the last page's Previous link @{at}",
                      previous_link(html))
    bench.console(apps, f"history.quiet@{at}",
                  f"history page 1 of a planet with {targets.quiet_events:,} events "
                  f"({log_size}) @{at}", f"{HISTORY}?id={targets.quiet_id}")


def measure_uncached_home(bench: Bench, apps: Apps) -> None:
    """The console home with its figures counted for the request: the cost of the first view,
    and of one view a minute per process (the timed rows mostly read them from the cache)."""
    key = f"console.home.uncached@{apps.label}"
    if not bench.wanted(key):
        return
    figures = apps.console.extensions["admin"][0].index_view.figures
    timing = time_each(apps.console_client, HOME, UNCACHED_HOME_REQUESTS, figures.clear)
    bench.rows[key] = Row.timed(f"console home {HOME}, its figures counted afresh for each "
                                f"request (the first view) @{apps.label}", timing)
    log(f"  {bench.rows[key].label}: median {timing.median:,.1f} ms (n={timing.count})")


EXPORTS = {"console": f"console CSV export {CONSOLE}export/csv/",
           "cli": "flask export-planets",
           "stock": "stock ModelView CSV export"}


def measure_export(bench: Bench, mode: str, database: Database, workdir: Path) -> None:
    at = database.label
    log(f"  {EXPORTS[mode]} @{at} in a fresh process ...")
    result = run_export(mode, database.url, workdir, bench.args.export_timeout)
    prefix = f"export.{mode}@{at}"
    label = f"{EXPORTS[mode]} @{at}"
    error = result.error
    bench.rows[f"{prefix}.first"] = _seconds_row(f"{label}: first byte", result.first_byte_s,
                                                 error)
    bench.rows[f"{prefix}.total"] = _seconds_row(f"{label}: whole file", result.total_s, error)
    bench.rows[f"{prefix}.peak"] = Row(f"{label}: peak memory", note=_memory_note(result),
                                       value=f"{result.peak_mb:,.0f} MB")
    log(f"    first byte {_seconds(result.first_byte_s)}, whole file {_seconds(result.total_s)}, "
        f"peak RSS {result.peak_mb:,.0f} MB {error}")
    bench.exports[prefix] = result


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _seconds_row(label: str, seconds: float | None, error: str) -> Row:
    if seconds is None:
        return Row(label, note=error or "not reached")
    return Row(label, seconds * 1000, seconds * 1000, 1)


def _memory_note(result: ExportResult) -> str:
    """What the peak compares with: the process before the export, and the file's size."""
    parts = []
    if result.baseline_mb is not None:
        parts.append(f"{result.baseline_mb:,.0f} MB before the export")
    if result.startup_peak_mb is not None:
        parts.append(f"{result.startup_peak_mb:,.0f} MB peak during start-up")
    if result.size_bytes:
        parts.append(f"{result.size_bytes / 1e6:,.1f} MB of CSV")
    if result.error:
        parts.append(result.error)
    return ", ".join(parts)


# --- targets ----------------------------------------------------------------------------------


def apply_targets(bench: Bench, small: str, large: str) -> None:
    rows = bench.rows

    def check(key: str, make: Check) -> None:
        if key in rows:
            rows[key].check = make

    for area in ("console", "api", "site"):
        base = rows.get(f"{area}.p1@{large}")
        if base is None:
            continue
        if f"{area}.p1@{small}" in rows:
            check(f"{area}.p1@{large}", ratio_check(base, rows[f"{area}.p1@{small}"],
                                                    SAME_PAGE_AT_SCALE, f"page 1 @{small}"))
        for key in [k for k in rows if k.startswith(f"{area}.") and k.endswith(f"@{large}")]:
            kind = key.split(".")[1].split("@")[0]
            if kind in ("last", "deep", "numbered"):
                check(key, ratio_check(rows[key], base, DEEP_PAGE_LIMIT, f"page 1 @{large}"))
            elif kind == "sort":
                check(key, ratio_check(rows[key], base, SORT_LIMIT, f"page 1 @{large}"))
    if (base := rows.get(f"console.p1@{large}")) is not None:
        for key in [k for k in rows if k.startswith("history.") and k.endswith(f"@{large}")]:
            check(key, ratio_check(rows[key], base, HISTORY_LIMIT,
                                   f"console planet list page 1 @{large}"))
    for key in [k for k in rows if k.startswith("search.") and not k.startswith("search.stock")]:
        check(key, at_most_ms_check(rows[key], SEARCH_LIMIT_MS))
    home, base_key = f"console.home@{large}", f"console.p1@{large}"
    if home in rows and base_key in rows:
        check(home, ratio_check(rows[home], rows[base_key], HOME_LIMIT,
                                f"console planet list page 1 @{large}"))
    if f"stock.p1@{small}" in rows:
        check(f"console.p1@{small}", ratio_check(rows[f"console.p1@{small}"],
                                                 rows[f"stock.p1@{small}"], STOCK_LIMIT,
                                                 f"stock page 1 @{small}"))
    for mode in ("console", "cli"):
        result = bench.exports.get(f"export.{mode}@{large}")
        if result is None:
            continue
        prefix = f"export.{mode}@{large}"
        check(f"{prefix}.first", below_check(result.first_byte_s, EXPORT_FIRST_BYTE_S, "s"))
        check(f"{prefix}.total", below_check(result.total_s, EXPORT_TOTAL_S, "s"))
        check(f"{prefix}.peak", below_check(result.peak_mb, EXPORT_PEAK_MB, "MB"))


def layout(bench: Bench, small: str, large: str) -> Report:
    """The rows in reading order, grouped by what they measure."""
    report = Report()
    rows = bench.rows

    def section(title: str, keys: list[str]) -> None:
        present = [key for key in keys if key in rows]
        if present:
            report.section(title)
            for key in present:
                report.add(rows[key])

    def matching(prefix: str) -> list[str]:
        return [key for key in rows if key.startswith(prefix)]

    section(f"Console planet list {CONSOLE}", [
        f"console.p1@{small}", f"console.p1@{large}", f"console.last@{large}",
        f"console.numbered@{large}", f"console.deep@{large}", *matching("console.sort.")])
    section(f"Console home {HOME}", [
        f"console.home@{small}", f"console.home@{large}", f"console.home.uncached@{small}",
        f"console.home.uncached@{large}"])
    section(f"Console record history {HISTORY}?id=", [
        f"history.{kind}@{large}" for kind in ("first", "last", "previous", "quiet")])
    section("Console user, application and audit lists", [
        f"console.{name}@{at}" for name in ("user", "application", "audit")
        for at in (small, large)])
    section("JSON API GET /api/planets", [
        f"api.p1@{small}", f"api.p1@{large}", f"api.numbered@{large}", f"api.deep@{large}",
        *matching("api.sort.")])
    section("Member catalog GET /planets", [
        f"site.p1@{small}", f"site.p1@{large}", f"site.numbered@{large}", f"site.deep@{large}"])
    section("Stock Flask-Admin ModelView over the same table (reference)", [
        f"stock.p1@{small}", f"stock.p1@{large}", f"stock.deep@{large}",
        *matching("stock.sort.")])
    section(f"Search, page 1 @{large}: name or host star contains each word (stock Flask-Admin's"
            " ILIKE '%word%' as the reference)", [
        f"search.{area}.{kind}@{large}" for kind in SEARCHES
        for area in ("site", "api", "console", "stock")])
    section("CSV exports, each in a fresh process", [
        f"export.{mode}@{at}.{part}" for mode in EXPORTS for at in (small, large)
        for part in ("first", "total", "peak")])
    return report


# --- the run ----------------------------------------------------------------------------------


@contextmanager
def databases(args: argparse.Namespace, workdir: Path) -> Iterator[list[Database]]:
    sizes = [(args.small, None), (args.large, history_sizes(args.large))]
    base_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if base_url:
        with postgres_databases(base_url, sizes, workdir) as built:
            yield built
        return
    yield [sqlite_database(size, workdir, cache=not args.no_cache, rebuild=args.rebuild,
                           history=history)
           for size, history in sizes]


def run(bench: Bench, small: Database, large: Database, workdir: Path) -> None:
    with ExitStack() as stack:
        small_apps = stack.enter_context(open_apps(small, workdir))
        large_apps = stack.enter_context(open_apps(large, workdir))
        plan_lists(bench, small_apps)
        plan_lists(bench, large_apps)
        plan_console_at_scale(bench, large_apps)
        plan_api_and_site_at_scale(bench, large_apps)
        plan_stock_at_scale(bench, large_apps)
        plan_search_at_scale(bench, large_apps)
        plan_history_at_scale(bench, large_apps)
        load_before = os.getloadavg()[0]
        bench.measure()
        bench.notes.append(f"Load average (1 min) of the machine: {load_before:.1f} before the "
                           f"timed requests, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} "
                           "cores; other processes may have shared them).")
        for apps in (small_apps, large_apps):
            measure_uncached_home(bench, apps)
        if bench.args.profile:
            apply_targets(bench, small.label, large.label)
            print_profiles(bench)
    if bench.args.only:
        return
    log("CSV exports")
    for database in (small, large):
        for mode in EXPORTS:
            measure_export(bench, mode, database, workdir)


def print_profiles(bench: Bench) -> None:
    """cProfile and the SQL of one request of every failing request-based measurement."""
    failing = [probe for probe in bench.probes
               if (check := bench.rows[probe.key].check) is not None and not check.passed]
    print(f"\n## Profiles of {len(failing)} failing request(s)\n")
    for probe in failing:
        profile = profile_request(probe.app, probe.client, probe.url)
        print(f"{probe.label}:", *profile.lines(), sep="\n", end="\n\n")


def command_line(argv: list[str]) -> str:
    arguments = shlex.join(argv)
    command = (f"make bench BENCH_ARGS={shlex.quote(arguments)}"
               if os.environ.get("MAKELEVEL") and argv else
               "make bench" if os.environ.get("MAKELEVEL") else
               f"python tests/benchmarks/bench.py {arguments}".strip())
    base_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if base_url:
        shown = make_url(base_url).render_as_string(hide_password=True)
        command = f"BENCH_DATABASE_URL={shown} {command}"
    return command


NOTES = [
    "Each database holds the real seed catalog plus synthetic planets up to its size, "
    "1,000 members and 1,000 mission applications; the small one ~3,000 audit events, the "
    "large one 1,000,000 (at 1M planets; as many as planets below that): one planet has "
    "10,000 of them (1 % of the log below 1M), spread evenly over the whole log, another 4, "
    "the rest are changes of other planets by 5 editors and members' logins and logouts "
    "(filled directly, as a test fixture does; `bench_history.py`).",
    "Requests are served in-process by the Flask test client (logged in as an admin for the "
    "console); each measurement warms up with 2 requests, then times up to `--requests` of "
    "them, fewer for slow pages (as many as fit in `--budget` seconds, at least 5).",
    "Exports run in a fresh process each; first byte and whole file count from the request "
    "(or the command) start; peak memory is that process's maximum RSS.",
    "Searches: page 1 with no sort chosen (names that start with the search first; the "
    "console sorts by name), the number of matching planets in the row's name. The synthetic "
    "planets are numbered: '452' is in about 4,000 of their names, 'kepler' in a third of "
    "their host stars. The stock ModelView looks for each word with ILIKE '%word%' in name "
    "and host star and counts every match for its pager.",
    "The console home counts its figures (whole-table GROUP BYs) at most once a minute per "
    "process and says how old they are, so its timed rows mostly read them from that cache; "
    "the row 'counted afresh' clears the cache before each request: what the first view "
    "costs, and one view a minute.",
]


def print_report(report: Report, notes: list[str]) -> tuple[str, str]:
    table, summary = report.markdown(), report.summary()
    print(f"\n{table}\n\n{summary}")
    for row, check in report.checks:
        if not check.passed:
            print(f"  FAIL {row.label}: {check.value} (target {check.target})")
    print("", *notes, sep="\n")
    return table, summary


def import_benchmark(args: argparse.Namespace, argv: list[str]) -> None:
    """The CSV imports (bench_import.py), reported in a section of their own."""
    base_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    steps = import_steps(args.import_small, args.import_large)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as temporary:
        workdir = Path(temporary)
        send_logs_to(workdir / "console.log")
        log("CSV imports")
        results = measure_imports(steps, workdir, workdir if args.no_cache else CACHE_DIR,
                                  base_url, args.import_timeout)
    notes = [f"Load average (1 min) of the machine: {load_before:.1f} before the imports, "
             f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores; other processes may "
             "have shared them).", *IMPORT_NOTES, *([POSTGRESQL_NOTE] if base_url else [])]
    table, summary = print_report(import_report(steps, results, sqlite=not base_url), notes)
    if args.write_results:
        date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        write_results(RESULTS_FILE, benchmark_section(
            date, machine_description(), describe_import_database(base_url),
            command_line(argv), table, summary, notes, import_section(base_url)),
            import_section(base_url))
        log(f"Wrote the import table into {RESULTS_FILE}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    clean_environment()
    if args.import_only:
        import_benchmark(args, argv)
        return 0
    bench = Bench(args)
    with tempfile.TemporaryDirectory(prefix="bench-") as temporary:
        workdir = Path(temporary)
        with databases(args, workdir) as (small, large):
            send_logs_to(workdir / "console.log")
            database = describe_database(large)
            run(bench, small, large, workdir)
    apply_targets(bench, small.label, large.label)
    notes = [*bench.notes, *NOTES]
    table, summary = print_report(layout(bench, small.label, large.label), notes)
    if args.write_results:
        date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        # Each database has its table; one of a few rows leaves the whole one as it is.
        kind = "PostgreSQL" if os.environ.get("BENCH_DATABASE_URL", "").strip() else "SQLite"
        title = f"{SECTION} of {', '.join(args.only)} on {kind}" if args.only else \
            f"{SECTION} on {kind}"
        write_results(RESULTS_FILE, benchmark_section(
            date, machine_description(), database, command_line(argv), table, summary,
            notes, title), title)
        log(f"Wrote the table into {RESULTS_FILE}")
    if not args.no_import and not args.only:
        import_benchmark(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
