"""One request under cProfile, with the SQL it ran and how long each statement took."""

from __future__ import annotations

import cProfile
import pstats
import time
from dataclasses import dataclass, field
from typing import Any

from bench_apps import PROJECT_ROOT
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models import db


@dataclass
class Profile:
    url: str
    total_ms: float = 0.0
    statements: list[tuple[float, str]] = field(default_factory=list)  # (ms, SQL)
    functions: list[tuple[float, float, int, str]] = field(default_factory=list)

    def lines(self, top: int = 12) -> list[str]:
        sql_ms = sum(ms for ms, _ in self.statements)
        out = [f"GET {self.url}: {self.total_ms:.1f} ms under the profiler, "
               f"{len(self.statements)} SQL statement(s) taking {sql_ms:.1f} ms"]
        for ms, sql in sorted(self.statements, reverse=True)[:5]:
            out.append(f"    SQL {ms:8.1f} ms  {' '.join(sql.split())[:220]}")
        out.append("    top functions by own time: own ms / cumulative ms / calls")
        for own, cumulative, calls, name in self.functions[:top]:
            out.append(f"    {own:8.1f} {cumulative:8.1f} {calls:7d}  {name}")
        return out


def _short(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    for marker in ("site-packages/", f"{PROJECT_ROOT}/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
    return f"{function} ({filename}:{line})" if line else function


@dataclass
class _SqlTimer:
    statements: list[tuple[float, str]]
    started: dict[int, float] = field(default_factory=dict)

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.started[id(cursor)] = time.perf_counter()

    def after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        began = self.started.pop(id(cursor), time.perf_counter())
        self.statements.append(((time.perf_counter() - began) * 1000, statement))


def profile_request(app: Flask, client: FlaskClient, url: str) -> Profile:
    with app.app_context():
        engine: Engine = db.engine
    profile = Profile(url)
    timer = _SqlTimer(profile.statements)
    event.listen(engine, "before_cursor_execute", timer.before)
    event.listen(engine, "after_cursor_execute", timer.after)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    try:
        profiler.enable()
        client.get(url).get_data()
        profiler.disable()
    finally:
        event.remove(engine, "before_cursor_execute", timer.before)
        event.remove(engine, "after_cursor_execute", timer.after)
    profile.total_ms = (time.perf_counter() - started) * 1000
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = [(own * 1000, cumulative * 1000, calls, _short(key))
            for key, (_, calls, own, cumulative, _) in stats.items()]
    profile.functions = sorted(rows, reverse=True)
    return profile
