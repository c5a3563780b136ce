"""CSV imports through the planets service (`flask import-planets`, and the console's import:
the upload kept in the database, then the job that applies it), each in a fresh process so
that its peak memory is its own, into a fresh database (migrated, with the real catalog) for
each file size.

The files are synthetic planets (seed/synthetic.py) in the export format, written once into
.bench-cache/. Run by the benchmark as `python bench_import.py WORKDIR FILE [options...]` with
the database URL in the environment (BENCH_IMPORT_URL, so a password never shows in the
process list); the child reports JSON lines on standard output: ready, memory, done or error.
"""

from __future__ import annotations

import csv
import os
import queue
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_apps import clean_environment, console_app, send_logs_to
from bench_data import log, size_label
from bench_export import _emit, _read_events, _report_memory, _rss_mb
from bench_report import Check, Report, Row, below_check

URL_VARIABLE = "BENCH_IMPORT_URL"
CONSOLE = "--console"  # the child imports as the console does, not by the CLI
FILE_VERSION = 1  # bump when import_file() writes something else
MEMORY_CAP = 8 * 1024**3  # a fuse: an import that holds the whole file stops at it


@dataclass
class ImportRun:
    total_s: float | None = None
    peak_mb: float | None = None
    baseline_mb: float | None = None  # the process before the import started
    startup_peak_mb: float | None = None
    size_bytes: int = 0
    summary: str = ""  # the command's last line: what it stored
    error: str = ""

    @property
    def growth_mb(self) -> float | None:
        """Peak memory above the process before the import."""
        if self.peak_mb is None or self.baseline_mb is None:
            return None
        return self.peak_mb - self.baseline_mb


# --- the files --------------------------------------------------------------------------------


def import_file(rows: int, directory: Path) -> Path:
    """A CSV file of `rows` synthetic planets in the export format (cached)."""
    from console.planet_csv import CSV_COLUMNS
    from seed.synthetic import synthetic_rows

    path = directory / f"import-{rows}-v{FILE_VERSION}.csv"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".partial")
    started = time.perf_counter()
    with staging.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(CSV_COLUMNS)
        for row in synthetic_rows(1, rows, now=None):
            # Floats as repr() writes them, the shortest text that reads back the same, as
            # the export does; no synthetic text needs the formula guard.
            writer.writerow(row[: len(CSV_COLUMNS)])
    staging.rename(path)
    log(f"  wrote {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in "
        f"{time.perf_counter() - started:.0f} s")
    return path


# --- the databases ----------------------------------------------------------------------------


def _fill(url: str, instance_path: Path) -> None:
    """Migrate to head and load the real catalog."""
    from flask_migrate import upgrade

    from console.services.planets import seed_catalog
    from models import db

    app = console_app(url, instance_path)
    with app.app_context():
        upgrade()
        seed_catalog()
        db.engine.dispose()


@contextmanager
def fresh_database(label: str, workdir: Path, base_url: str = "") -> Iterator[str]:
    """The URL of a new database with the real catalog: a SQLite file in `workdir`, or a
    private schema of the PostgreSQL database at `base_url`, dropped afterwards."""
    if not base_url:
        path = workdir / f"import-{label}.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        _fill(url, workdir / f"instance-import-{label}")
        try:
            yield url
        finally:
            path.unlink(missing_ok=True)
        return
    from bench_data import _schema_url, _shared_extensions

    from console.config import normalise_database_url

    base_url = normalise_database_url(base_url)
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    schema = f"bench_import_{label.lower()}_{uuid.uuid4().hex[:10]}"
    _shared_extensions(engine)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = _schema_url(base_url, schema)
        _fill(url, workdir / f"instance-import-{label}")
        yield url
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


# --- parent side ------------------------------------------------------------------------------


def _result_from(events: list[dict[str, Any]]) -> ImportRun:
    result = ImportRun()
    for event in events:
        kind = event["event"]
        if kind == "ready":
            result.baseline_mb = event["rss_mb"]
            result.startup_peak_mb = event["peak_mb"]
        elif kind == "memory":
            result.peak_mb = event["peak_mb"]
        elif kind == "done":
            result.total_s = event["total_s"]
            result.summary = event["summary"]
        elif kind == "error":
            result.error = event["message"]
    return result


def run_import(url: str, path: Path, workdir: Path, options: list[str],
               timeout_s: float) -> ImportRun:
    """`flask import-planets PATH OPTIONS` in a child process; its peak RSS is the VmHWM the
    child reports (also when it is killed at the timeout), else the kernel's account of it."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    stderr_path = workdir / "import.stderr"
    with stderr_path.open("w") as stderr:
        child = subprocess.Popen(  # noqa: S603 - our own script, no shell
            [sys.executable, __file__, str(workdir), str(path), *options],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**os.environ, URL_VARIABLE: url})
        reader = threading.Thread(target=_read_events, args=(child.stdout, events), daemon=True)
        reader.start()
        reader.join(timeout_s)
        timed_out = reader.is_alive()
        if timed_out:
            child.kill()
            reader.join()
        _, status, usage = os.wait4(child.pid, 0)
        returncode = os.waitstatus_to_exitcode(status)
    result = _result_from(list(events.queue))
    result.size_bytes = path.stat().st_size
    if result.peak_mb is None:
        result.peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    if timed_out:
        result.error = f"stopped at the {timeout_s:.0f} s timeout"
        result.total_s = None
    elif returncode and not result.error:
        lines = stderr_path.read_text().strip().splitlines()
        result.error = f"exit status {returncode}: {lines[-1] if lines else ''}"
    return result


@dataclass(frozen=True)
class ImportStep:
    key: str  # "import@1M"
    label: str
    rows: int
    options: tuple[str, ...] = ()
    fresh: bool = True  # into a fresh database, else into the one the step before filled


def import_steps(small: int, large: int) -> list[ImportStep]:
    return [
        ImportStep(f"import@{size_label(small)}",
                   f"flask import-planets, {small:,} new rows", small),
        ImportStep(f"import@{size_label(large)}",
                   f"flask import-planets, {large:,} new rows", large),
        ImportStep(f"dry-run@{size_label(large)}",
                   f"flask import-planets --dry-run --update, the same {large:,} rows "
                   "again (all stored)", large, ("--dry-run", "--update"), fresh=False),
        ImportStep(f"console@{size_label(large)}",
                   f"console import (upload kept, then its apply job), {large:,} new rows",
                   large, (CONSOLE,)),
    ]


def measure_imports(steps: list[ImportStep], workdir: Path, cache: Path, base_url: str,
                    timeout_s: float) -> dict[str, ImportRun]:
    results: dict[str, ImportRun] = {}
    url = ""
    with _Databases(workdir, base_url) as fresh:
        for step in steps:
            path = import_file(step.rows, cache)
            if step.fresh or not url:
                url = fresh.new(step.key)
            log(f"  {step.label} in a fresh process ...")
            result = run_import(url, path, workdir, list(step.options), timeout_s)
            total = "—" if result.total_s is None else f"{result.total_s:,.1f} s"
            log(f"    {total}, peak RSS {result.peak_mb:,.0f} MB "
                f"(before {result.baseline_mb or 0:,.0f} MB): {result.summary} {result.error}")
            results[step.key] = result
    return results


class _Databases:
    """Fresh databases on demand, each dropped when the next one is made and at the end (one
    1M-planet database at a time on disk)."""

    def __init__(self, workdir: Path, base_url: str) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self._current = None

    def new(self, key: str) -> str:
        self._close()
        label = key.replace("@", "-").replace(".", "-")
        self._current = fresh_database(label, self.workdir, self.base_url)
        return self._current.__enter__()

    def _close(self) -> None:
        if self._current is not None:
            self._current.__exit__(None, None, None)
            self._current = None

    def __enter__(self) -> _Databases:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()


# --- the report -------------------------------------------------------------------------------

def import_section(base_url: str) -> str:
    """The title of the import table in RESULTS.md: one per kind of database."""
    return f"## Import benchmark on {'PostgreSQL' if base_url else 'SQLite'}"


IMPORT_TOTAL_S = 90.0  # a million rows on SQLite
IMPORT_PEAK_MB = 200.0
FLAT_RATIO = 1.25  # peak memory at the large size × the small one


def _seconds_row(label: str, result: ImportRun) -> Row:
    if result.total_s is None:
        return Row(label, note=result.error or "not reached")
    milliseconds = result.total_s * 1000
    return Row(label, milliseconds, milliseconds, 1, note=result.summary)


def _memory_note(result: ImportRun) -> str:
    parts = []
    if result.baseline_mb is not None:
        parts.append(f"{result.baseline_mb:,.0f} MB before the import")
    parts.append(f"{result.size_bytes / 1e6:,.1f} MB of CSV")
    if result.error:
        parts.append(result.error)
    return ", ".join(parts)


def import_report(steps: list[ImportStep], results: dict[str, ImportRun], *,
                  sqlite: bool) -> Report:
    """The rows of the import benchmark, with the targets: the large import under
    IMPORT_TOTAL_S on SQLite, every peak under IMPORT_PEAK_MB, and flat as the file grows."""
    report = Report()
    report.section("CSV import through the planets service (flask import-planets and the "
                   "console's import job), each in a fresh process")
    peaks: dict[int, float] = {}
    for step in steps:
        result = results.get(step.key)
        if result is None:
            continue
        total = report.add(_seconds_row(f"{step.label}: whole file", result))
        peak = report.add(Row(f"{step.label}: peak memory", note=_memory_note(result),
                              value=f"{result.peak_mb:,.0f} MB"))
        large = step.rows == max(each.rows for each in steps)
        if large:
            peak.check = below_check(result.peak_mb, IMPORT_PEAK_MB, "MB")
        if large and step.fresh and sqlite:  # the CLI's and the console job's
            total.check = below_check(result.total_s, IMPORT_TOTAL_S, "s")
        if step.fresh and not step.options and result.peak_mb is not None:
            peaks[step.rows] = result.peak_mb  # the CLI's, at each size
    if len(peaks) >= 2:
        small, large = min(peaks), max(peaks)
        ratio = peaks[large] / peaks[small]
        report.add(Row(f"peak memory of the {large:,}-row import × the {small:,}-row one",
                       check=Check(f"≤ {FLAT_RATIO:g}×", f"{ratio:.2f}×", ratio <= FLAT_RATIO)))
    return report


def describe_import_database(base_url: str) -> str:
    if not base_url:
        import sqlite3

        return (f"SQLite {sqlite3.sqlite_version}, a fresh file per import (migrated, with the "
                "real catalog)")
    from console.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(base_url))
    try:
        with engine.connect() as connection:
            version = connection.execute(sa.text("show server_version")).scalar()
    finally:
        engine.dispose()
    return (f"PostgreSQL {version}, a fresh private schema per import (migrated, with the real "
            "catalog), dropped after it")


IMPORT_NOTES = [
    "Each import runs `flask import-planets FILE` (through Flask's CLI runner, in-process) in "
    "a fresh process, so its time counts from the command's start and its peak memory is that "
    "process's maximum RSS; the files are synthetic planets (seed/synthetic.py) in the export "
    "format. The dry run reads the large file again against the database its import filled: "
    "every row is looked up and compared, none is stored. The console import keeps the file "
    "in the database as an upload does (its time is in the row's note), then runs the job "
    "that applies it as a worker would (console/services/jobs.py run): the row's time is the "
    "job's.",
    "Before the streaming import, `import-planets` held the file twice in memory: a "
    "1,000,000-row file took 1 min 55 s with a 2.4 GB peak, 9 × `seed --synthetic` (issue "
    "\"[5/7] The mission office at work\"); `seed --synthetic 1000000` took 20 s on this "
    "machine on the day of the first of these tables.",
]

POSTGRESQL_NOTE = (
    "On PostgreSQL the import keeps every index of the planets table (dropping one would lock "
    "every reader out of the table until the import ends; on SQLite, whose writer keeps others "
    "waiting anyway, the import drops the secondary ones and builds them again before it "
    "commits): most of the time is PostgreSQL updating its 18 indexes row by row, here with "
    "the default shared_buffers of 128 MB. No time target is set for it.")


# --- child side -------------------------------------------------------------------------------


def child_main(workdir: Path, path: Path, options: list[str]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    url = os.environ.pop(URL_VARIABLE)
    clean_environment()
    send_logs_to(workdir / "import.log")
    app = console_app(url, workdir / "instance-import-child")
    runner = app.test_cli_runner()
    _emit("ready", rss_mb=_rss_mb(), peak_mb=_rss_mb("VmHWM"))
    stop = threading.Event()
    threading.Thread(target=_report_memory, args=(stop,), daemon=True).start()
    try:
        if options == [CONSOLE]:
            _console_import(app, path)
            return
        started = time.perf_counter()
        result = runner.invoke(args=["import-planets", str(path), *options])
        total = time.perf_counter() - started
        lines = result.output.strip().splitlines()
        if result.exit_code:
            _emit("error", message=f"exit status {result.exit_code}: "
                                   f"{lines[-1] if lines else result.exception!r}")
        else:
            _emit("done", total_s=total, summary=lines[-1] if lines else "")
    except MemoryError:
        _emit("error", message=f"MemoryError at the {MEMORY_CAP // 1024**3} GiB address-space cap")
    finally:
        stop.set()
        _emit("memory", peak_mb=_rss_mb("VmHWM"))


def _console_import(app, path: Path) -> None:
    """The console's way: the file kept in the database as its upload is, then the job that
    applies it run as a worker runs it (console/services/jobs.py run); the time is the
    job's, the upload's is in the summary."""
    from console.services import jobs, planet_imports
    from models import Job, User, db

    app.config["IMPORT_JOB_THRESHOLD"] = 0  # a job, whatever the size
    with app.app_context():
        importer = User(username="importer", email="importer@example.com", role="editor")
        importer.set_password("importer-bench-passphrase-0123")
        db.session.add(importer)
        db.session.commit()
        started = time.perf_counter()
        with path.open("rb") as stream:
            key = planet_imports.check(stream, path.name, update=False, actor=importer).key
        uploaded = time.perf_counter() - started
        job_id = planet_imports.apply(key, update=False, actor=importer).job.id
        started = time.perf_counter()
        jobs.run(job_id)
        total = time.perf_counter() - started
        job = db.session.get(Job, job_id)
        if job.state != "done":
            _emit("error", message=f"the job is {job.state}: {job.error}")
            return
        report = job.result["report"]
        _emit("done", total_s=total, summary=f"job: {report['created']} added, "
                                             f"{report['invalid']} invalid; the upload took "
                                             f"{uploaded:.1f} s")


if __name__ == "__main__":
    child_main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
