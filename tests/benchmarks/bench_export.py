"""CSV exports, each in a fresh process so that its peak memory is its own.

Run by the benchmark as `python bench_export.py MODE WORKDIR` with the database URL in the
environment (BENCH_EXPORT_URL, so a password never shows in the process list). MODE is
`console` (GET /admin/planet/export/csv/ as the admin), `stock` (the stock ModelView's
export) or `cli` (the `export-planets` command, run in-process through Flask's CLI runner, so
its time counts from the command's start, not from the interpreter's). The child reports
JSON lines on standard output: ready, first_byte, done or error.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

URL_VARIABLE = "BENCH_EXPORT_URL"
MEMORY_CAP = 8 * 1024**3  # a fuse for the stock export, which loads every row first
MEMORY_INTERVAL = 0.25
EXPORT_PATH = "/admin/planet/export/csv/"


@dataclass
class ExportResult:
    first_byte_s: float | None = None
    total_s: float | None = None
    peak_mb: float | None = None
    baseline_mb: float | None = None  # the process before the export started
    startup_peak_mb: float | None = None  # the process's peak before the export started
    size_bytes: int = 0
    error: str = ""


# --- parent side ------------------------------------------------------------------------------


def _read_events(stream: Any, events: queue.Queue[dict[str, Any]]) -> None:
    for line in stream:
        try:
            events.put(json.loads(line))
        except ValueError:
            continue


def _result_from(events: list[dict[str, Any]]) -> ExportResult:
    result = ExportResult()
    for event in events:
        kind = event["event"]
        if kind == "ready":
            result.baseline_mb = event["rss_mb"]
            result.startup_peak_mb = event["peak_mb"]
        elif kind == "memory":
            result.peak_mb = event["peak_mb"]
        elif kind == "first_byte":
            result.first_byte_s = event["s"]
        elif kind == "done":
            result.total_s = event["total_s"]
            result.size_bytes = event["bytes"]
        elif kind == "error":
            result.error = event["message"]
    return result


def run_export(mode: str, url: str, workdir: Path, timeout_s: float) -> ExportResult:
    """One export in a child process. Its peak RSS is the VmHWM the child reports (every
    MEMORY_INTERVAL seconds, so it is known even when the child is killed at the timeout);
    the kernel's accounting of the child (wait4) stands in if it reported none."""
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    stderr_path = workdir / f"export-{mode}.stderr"
    with stderr_path.open("w") as stderr:
        child = subprocess.Popen(  # noqa: S603 - our own script, no shell
            [sys.executable, __file__, mode, str(workdir)], stdout=subprocess.PIPE,
            stderr=stderr, text=True, env={**os.environ, URL_VARIABLE: url})
        reader = threading.Thread(target=_read_events, args=(child.stdout, events), daemon=True)
        reader.start()
        reader.join(timeout_s)
        timed_out = reader.is_alive()
        if timed_out:
            child.kill()
            reader.join()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    result = _result_from(list(events.queue))
    if result.peak_mb is None:
        result.peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    if timed_out:
        result.error = f"stopped at the {timeout_s:.0f} s timeout"
        result.total_s = None
    elif child.returncode and not result.error:
        lines = stderr_path.read_text().strip().splitlines()
        result.error = f"exit status {child.returncode}: {lines[-1] if lines else ''}"
    return result


# --- child side -------------------------------------------------------------------------------


def _emit(event: str, **values: Any) -> None:
    # The real standard output: Flask's CLI runner swaps sys.stdout while a command runs.
    print(json.dumps({"event": event, **values}), file=sys.__stdout__, flush=True)


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _report_memory(stop: threading.Event) -> None:
    while not stop.wait(MEMORY_INTERVAL):
        _emit("memory", peak_mb=_rss_mb("VmHWM"))


def _export_http(client: Any) -> None:
    started = time.perf_counter()
    response = client.get(EXPORT_PATH, buffered=False)
    if response.status_code != 200:
        _emit("error", message=f"HTTP {response.status_code}")
        return
    size = 0
    for chunk in response.iter_encoded():
        if chunk and not size:
            _emit("first_byte", s=time.perf_counter() - started)
        size += len(chunk)
    response.close()
    _emit("done", total_s=time.perf_counter() - started, bytes=size)


def _watch_first_byte(path: Path, started: float, stop: threading.Event) -> None:
    while not stop.wait(0.002):
        if path.exists() and path.stat().st_size:
            _emit("first_byte", s=time.perf_counter() - started)
            return


def _export_cli(app: Any, path: Path) -> None:
    path.unlink(missing_ok=True)
    stop = threading.Event()
    started = time.perf_counter()
    watcher = threading.Thread(target=_watch_first_byte, args=(path, started, stop), daemon=True)
    watcher.start()
    result = app.test_cli_runner().invoke(args=["export-planets", str(path)])
    total = time.perf_counter() - started
    stop.set()
    watcher.join()
    if result.exit_code:
        _emit("error", message=f"exit status {result.exit_code}: {result.output.strip()}")
        return
    _emit("done", total_s=total, bytes=path.stat().st_size)
    path.unlink()


def child_main(mode: str, workdir: Path) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    from bench_apps import (
        clean_environment,
        console_app,
        logged_in_client,
        send_logs_to,
        stock_app,
    )

    url = os.environ.pop(URL_VARIABLE)
    clean_environment()
    send_logs_to(workdir / f"export-{mode}.log")
    if mode == "stock":
        client = stock_app(url).test_client()
    else:
        app = console_app(url, workdir / f"instance-export-{mode}")
        client = logged_in_client(app) if mode == "console" else None
    _emit("ready", rss_mb=_rss_mb(), peak_mb=_rss_mb("VmHWM"))
    stop = threading.Event()
    threading.Thread(target=_report_memory, args=(stop,), daemon=True).start()
    try:
        if client is None:
            _export_cli(app, workdir / "export-planets.csv")
        else:
            _export_http(client)
    except MemoryError:
        _emit("error", message=f"MemoryError at the {MEMORY_CAP // 1024**3} GiB address-space cap")
    stop.set()
    _emit("memory", peak_mb=_rss_mb("VmHWM"))


if __name__ == "__main__":
    child_main(sys.argv[1], Path(sys.argv[2]))
