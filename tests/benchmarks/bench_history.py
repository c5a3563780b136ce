"""A full audit log in the large benchmark database, for the record history pages
(/admin/<view>/history/?id=N): the log holds AUDIT_LOG events in all, one planet (the "busy"
one) has BUSY_RECORD_EVENTS of its own, spread evenly over the whole log, another (the "quiet"
one) has QUIET_RECORD_EVENTS, from the log's start to its end, and the rest go to other planets
and to the members.

The bench fills the table directly for speed, as a test fixture does: a million events through
the services would take hours. The rows are what the services write (planet.update with
[before, after] per changed field, by editors, from the console or the API; logins and logouts
of members), and the busy planet's changes form one chain that ends at its stored values.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain

import sqlalchemy as sa

from console.audit import Source
from console.services import accounts
from models import AuditEvent, Planet, Role, User, db

AUDIT_LOG = 1_000_000  # events in the whole log of the large database (at 1M planets)
BUSY_RECORD_EVENTS = 10_000  # events of the busy planet (at 1M planets)
QUIET_RECORD_EVENTS = 4
EDITORS = 5
EDITOR_PASSWORD = "bench editor password 42"
BATCH_ROWS = 20_000  # one transaction each
ROWS_PER_STATEMENT = 1_000  # 10,000 parameters: inside SQLite's and PostgreSQL's limits
PLANET_SHARE = 0.75  # of the other events: planet changes; the rest are members' logins
# Changed fields of planet.update events: the digits their values keep and the range the
# synthetic planets' values come from (seed/synthetic.py).
CHANGED_FIELDS = {"mass_earth": (3, 0.1, 4000), "radius_earth": (3, 0.3, 25),
                  "orbital_period_days": (3, 0.2, 100_000), "semi_major_axis_au": (4, 0.005, 300),
                  "distance_ly": (2, 4, 30_000), "equilibrium_temp_k": (1, 30, 4000)}
COLUMNS = ("at", "actor_id", "actor_username", "action", "target_type", "target_id", "changes",
           "via", "via_detail", "remote_addr")


@dataclass(frozen=True)
class HistorySizes:
    log: int  # events in the whole log
    busy: int  # events of the busy planet


def history_sizes(planets: int) -> HistorySizes:
    """The full sizes at 1M planets; proportionally smaller below (a quick run at 20k planets
    gets a log of 20,000 and a busy planet with 200 events)."""
    log = min(AUDIT_LOG, planets)
    return HistorySizes(log, max(QUIET_RECORD_EVENTS + 1, log * BUSY_RECORD_EVENTS // AUDIT_LOG))


@dataclass(frozen=True)
class HistoryTargets:
    """The planets whose history the bench times, and how many events each has."""

    log: int
    busy_id: int
    busy_events: int
    quiet_id: int
    quiet_events: int


def _chosen_planets() -> tuple[int, int]:
    """The busy and the quiet planet: the two in the middle of the id order."""
    count = db.session.scalar(sa.select(sa.func.count(Planet.id)))
    busy, quiet = db.session.scalars(
        sa.select(Planet.id).order_by(Planet.id).offset(max(0, count // 2 - 1)).limit(2)).all()
    return busy, quiet


def _events_of(planet_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.target_type == "planet", AuditEvent.target_id == str(planet_id)))


def history_targets() -> HistoryTargets:
    """What the database holds (in an app context)."""
    busy, quiet = _chosen_planets()
    return HistoryTargets(db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
                          busy, _events_of(busy), quiet, _events_of(quiet))


def _spread(count: int, total: int) -> Iterator[bool]:
    """`total` flags, `count` of them True, evenly spread (the first and the last included
    when count > 1)."""
    if count <= 1:
        yield from (index == 0 and count == 1 for index in range(total))
        return
    marks = {round(index * (total - 1) / (count - 1)) for index in range(count)}
    yield from (index in marks for index in range(total))


def _changed(value: float, digits: int, rnd: random.Random) -> float:
    """A plausible other value of a field: a revised measurement, within 5 %."""
    smallest = 10 ** -digits
    other = max(smallest, round(value * (1 + rnd.uniform(-0.05, 0.05)), digits))
    return other if other != value else round(value + smallest, digits)


def _busy_chain(planet: Planet, count: int, rnd: random.Random) -> list[dict]:
    """The changes of `count` updates of `planet`, oldest first, each field's values one chain
    that ends at the value stored now."""
    values = {name: getattr(planet, name) for name in CHANGED_FIELDS
              if getattr(planet, name) is not None}
    names = sorted(values)
    newest_first = []
    for _ in range(count):
        changes = {}
        for name in rnd.sample(names, 1 + (rnd.random() < 0.3)):
            before = _changed(values[name], CHANGED_FIELDS[name][0], rnd)
            changes[name] = [before, values[name]]
            values[name] = before
        newest_first.append(changes)
    return newest_first[::-1]


def _random_update(rnd: random.Random) -> dict:
    changes = {}
    for name in rnd.sample(sorted(CHANGED_FIELDS), 1 + (rnd.random() < 0.3)):
        digits, low, high = CHANGED_FIELDS[name]
        before = round(low + rnd.random() * (high - low), digits)
        changes[name] = [before, _changed(before, digits, rnd)]
    return changes


def _address(rnd: random.Random) -> str:
    return f"{rnd.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rnd.randrange(1, 255)}"


def _insert(rows: list[tuple], dialect: sa.Dialect) -> None:
    """Multi-row INSERTs of plain driver parameters, as load_synthetic() stores planets."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    changes = marker if dialect.name == "sqlite" else f"CAST({marker} AS JSON)"
    row = "(" + ", ".join(changes if column == "changes" else marker for column in COLUMNS) + ")"
    connection = db.session.connection()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        # Only constant names and placeholders go into the text; values travel as parameters.
        statement = (f"INSERT INTO {AuditEvent.__tablename__} ({', '.join(COLUMNS)}) "  # noqa: S608
                     f"VALUES {', '.join([row] * len(chunk))}")
        connection.exec_driver_sql(statement, tuple(chain.from_iterable(chunk)))


def add_editors() -> list[tuple[int, str]]:
    """The editors whose changes the log holds, through the accounts service (and audited);
    call with cheap password hashing."""
    return [(editor.id, editor.username) for editor in (
        accounts.create_account(f"editor{number:02d}", f"editor{number:02d}@example.com",
                                EDITOR_PASSWORD, Role.EDITOR, via="cli")
        for number in range(1, EDITORS + 1))]


def add_audit_history(sizes: HistorySizes, editors: list[tuple[int, str]],
                      progress: Callable[[str], None]) -> None:
    """Fill the log up to sizes.log events and the busy planet's history up to sizes.busy, with
    changes by `editors` (in an app context, after the planets and the members are stored)."""
    started = time.perf_counter()
    members = db.session.execute(sa.select(User.id, User.username).where(
        User.role == Role.MEMBER.value).order_by(User.id)).all()
    busy_id, quiet_id = _chosen_planets()
    planet_ids = [planet_id for planet_id in db.session.scalars(sa.select(Planet.id))
                  if planet_id not in (busy_id, quiet_id)]
    existing = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    total = sizes.log - existing
    busy = sizes.busy - _events_of(busy_id)
    quiet = QUIET_RECORD_EVENTS - _events_of(quiet_id)
    if min(total, busy, quiet) < 0 or busy + quiet > total:
        raise ValueError(f"cannot fit {sizes} in a log that holds {existing:,} events")
    rnd = random.Random(2026)  # noqa: S311 - test data, not secrets
    busy_changes = iter(_busy_chain(db.session.get(Planet, busy_id), busy, rnd))
    dialect = db.session.get_bind().dialect
    timestamp = AuditEvent.__table__.c.at.type.dialect_impl(dialect)
    to_database = timestamp.bind_processor(dialect) or (lambda value: value)
    # An append-only log: ids and times grow together, 1 ms apart, after the events stored.
    start = db.session.scalar(sa.select(sa.func.max(AuditEvent.at))) or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    busy_marks = _spread(busy, total)
    quiet_marks = _spread(quiet, total - busy)

    def event(index: int) -> tuple:
        at = to_database(start + timedelta(milliseconds=index + 1))
        address = _address(rnd)
        if next(busy_marks):
            target, changes = busy_id, next(busy_changes)
        elif next(quiet_marks):
            target, changes = quiet_id, _random_update(rnd)
        elif rnd.random() >= PLANET_SHARE:
            member_id, username = rnd.choice(members)
            return (at, member_id, username, rnd.choice(("login", "logout")), "user",
                    str(member_id), "{}", Source.SITE.value, "", address)
        else:
            target, changes = rnd.choice(planet_ids), _random_update(rnd)
        editor_id, username = rnd.choice(editors)
        via, detail = (Source.API.value, "nightly import") if rnd.random() < 0.2 else \
            (Source.CONSOLE.value, "")
        return (at, editor_id, username, "planet.update", "planet", str(target),
                json.dumps(changes, separators=(", ", ": ")), via, detail, address)

    done = 0
    while done < total:
        size = min(BATCH_ROWS, total - done)
        _insert([event(index) for index in range(done, done + size)], dialect)
        db.session.commit()
        done += size
        if done % 200_000 < BATCH_ROWS or done == total:
            progress(f"    {done:,} of {total:,} audit events, "
                     f"{time.perf_counter() - started:.0f} s")
    if dialect.name == "postgresql":
        # As load_synthetic() does for planets: the statistics that autovacuum would gather
        # after a bulk load, so that the planner does not plan from an empty table's.
        db.session.execute(sa.text(f"ANALYZE {AuditEvent.__tablename__}"))
        db.session.commit()
