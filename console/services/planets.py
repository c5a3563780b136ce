"""Every write of the planets catalog: create, update, delete, archive, CSV import, the seed
catalog and synthetic bulk loads. The console, the API and the CLI only translate to and from
these functions; each change is audited, field by field, in the transaction that stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import String, func, literal, select, text

from console import audit
from console.audit import Source
from console.history import RevertField, revert_fields_of
from console.planet_csv import RowProblem, read_csv, validate_rows
from console.services.transaction import committed
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet, db
from models.errors import DomainError, Refusal
from models.planets import PLANET_FIELDS, clean_planet, duplicate_name_message
from seed import CATALOG_FILE
from seed.synthetic import COLUMNS, next_number, synthetic_rows

AUDITED_FIELDS = tuple(f.name for f in PLANET_FIELDS)
IMPORT_BATCH_SIZE = 500
Progress = Callable[[int], None]


def _values(planet: Planet) -> dict[str, Any]:
    return audit.snapshot(planet, AUDITED_FIELDS)


def _taken(name: str) -> DomainError:
    return DomainError.about("name", duplicate_name_message(name), Refusal.CONFLICT)


def _refuse_taken_name(values: Mapping[str, Any], planet: Planet | None = None) -> None:
    """The unique index on lower(name) backs this up against races (see _commit)."""
    if "name" in values:
        other = Planet.find_by_name(values["name"])
        if other is not None and other is not planet:
            raise _taken(values["name"])


def _race_lost() -> DomainError:
    return DomainError.about("name", "another change stored this name or used this planet "
                             "meanwhile; nothing was saved", Refusal.CONFLICT)


def create(raw: Mapping[str, Any], *, actor: Any = None, via: str,
           via_detail: str = "") -> Planet:
    """Validate and store a new planet; raises DomainError naming every bad field."""
    values = clean_planet(raw)
    _refuse_taken_name(values)
    planet = Planet(**values)
    with committed(_taken(values["name"])):
        db.session.add(planet)
        audit.record("planet.create", planet, changes=audit.diff({}, _values(planet)),
                     actor=actor, via=via, via_detail=via_detail)
    return planet


def update(planet: Planet, raw: Mapping[str, Any], *, partial: bool = False, actor: Any = None,
           via: str, via_detail: str = "", version: int | None = None) -> dict[str, list[Any]]:
    """Change a planet (`partial`: only the fields given); returns what changed, as audited.

    `version` is the version the change was made on (an edit form opened earlier): if the
    planet has changed since, nothing is stored and a conflict about "version" is raised, so
    that nobody overwrites a colleague's edit unseen. A change to nothing stores nothing and
    records nothing.
    """
    if version is not None and version != planet.version:
        raise DomainError.about("version", "someone else changed this planet since you opened "
                                "it", Refusal.CONFLICT)
    return _change(planet, clean_planet(raw, partial=partial), "planet.update", actor=actor,
                   via=via, via_detail=via_detail)


def _change(planet: Planet, values: Mapping[str, Any], action: str, *, actor: Any, via: str,
            via_detail: str) -> dict[str, list[Any]]:
    """Store cleaned values on the planet and audit what changed as `action`."""
    _refuse_taken_name(values, planet)
    before = _values(planet)
    with committed(_taken(values.get("name", planet.name))):
        planet.apply(values)
        changes = audit.diff(before, _values(planet))
        if changes:
            audit.record(action, planet, changes=changes, actor=actor, via=via,
                         via_detail=via_detail)
    return changes


def applications_holding(planet: Planet) -> dict[str, int]:
    """{status: count} of the mission applications for `planet`."""
    query = (select(MissionApplication.status, func.count())
             .where(MissionApplication.planet_id == planet.id)
             .group_by(MissionApplication.status))
    return dict(db.session.execute(query).all())


def _held_message(planet: Planet, held: Mapping[str, int]) -> str:
    total = sum(held.values())
    counts = ", ".join(f"{held[s]} {s}" for s in ApplicationStatus if held.get(s))
    noun = "application" if total == 1 else "applications"
    return (f"{planet.name} has {total} mission {noun} ({counts}) and cannot be deleted; "
            "archive it instead")


def delete(planets: Sequence[Planet], *, actor: Any = None, via: str,
           via_detail: str = "") -> None:
    """Delete planets, all or none; planets that mission applications refer to are refused
    (they are archived instead), so a delete never takes a person's data with it."""
    for planet in planets:
        if held := applications_holding(planet):
            raise DomainError.about("id", _held_message(planet, held), Refusal.CONFLICT)
    with committed(_race_lost):
        for planet in planets:
            audit.record("planet.delete", planet, changes=audit.diff(_values(planet), {}),
                         actor=actor, via=via, via_detail=via_detail)
            db.session.delete(planet)


def set_archived(planets: Sequence[Planet], archived: bool, *, actor: Any = None, via: str,
                 via_detail: str = "") -> int:
    """Archive (or bring back) planets; returns how many changed. Archived planets leave the
    public catalog, the application form and the API's default list, and keep everything
    that refers to them."""
    changing = [planet for planet in planets if planet.archived != archived]
    with committed(_race_lost):
        for planet in changing:
            planet.archived = archived
            audit.record("planet.archive" if archived else "planet.unarchive", planet,
                         changes={"archived": [not archived, archived]}, actor=actor, via=via,
                         via_detail=via_detail)
    return len(changing)


# --- revert and restore, from the audit log ------------------------------------------------------

REVERTIBLE = ("planet.update", "planet.revert")  # a change of values, not a create or delete


def _event_of(planet: Planet, event: AuditEvent) -> None:
    if event.target_type != "planet" or event.target_id != str(planet.id) \
            or event.action not in REVERTIBLE:
        raise DomainError.about("event", "This event is not a change of this planet that can "
                                "be reverted.", Refusal.MISSING)


def revert_fields(planet: Planet, event: AuditEvent) -> list[RevertField]:
    """What reverting `event` would put back, field by field, with the value each has now."""
    _event_of(planet, event)
    return revert_fields_of(event, _values(planet))


def revert(planet: Planet, event: AuditEvent, fields: Sequence[str], *, actor: Any = None,
           via: str) -> dict[str, list[Any]]:
    """Put back the values `fields` had before `event` (chosen by the user where they changed
    again since); audited as planet.revert naming the event."""
    offered = {change.field: change.before for change in revert_fields(planet, event)}
    if not fields or set(fields) - offered.keys():
        raise DomainError.about("fields", "Choose the fields of this change to put back.")
    values = clean_planet({name: offered[name] for name in fields}, partial=True)
    return _change(planet, values, "planet.revert", actor=actor, via=via,
                   via_detail=f"revert of event {event.id}")


def restore(event: AuditEvent, *, actor: Any = None, via: str) -> Planet:
    """Bring a deleted planet back from its delete event: the same id, the same values."""
    if event.target_type != "planet" or event.action != "planet.delete":
        raise DomainError.about("event", "Only a planet's delete event can be restored.",
                                Refusal.MISSING)
    planet_id = int(event.target_id)
    if db.session.get(Planet, planet_id) is not None:
        raise DomainError.about("event", "This planet is not deleted: it was restored "
                                "already.", Refusal.CONFLICT)
    values = clean_planet({name: change[0] for name, change in event.changes.items()
                           if name in AUDITED_FIELDS})
    if Planet.find_by_name(values["name"]) is not None:
        raise DomainError.about("name", f"a planet named {values['name']!r} exists meanwhile; "
                                "rename it before restoring this one", Refusal.CONFLICT)
    planet = Planet(id=planet_id, **values)
    with committed(_taken(values["name"])):
        db.session.add(planet)
        audit.record("planet.restore", planet, changes=audit.diff({}, _values(planet)),
                     actor=actor, via=via, via_detail=f"restore of event {event.id}")
    return planet


# --- CSV import and the seed catalog ---------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    stored: bool = False

    @property
    def invalid_lines(self) -> int:
        return len({problem.line for problem in self.problems})


def _existing_by_name(names: list[str]) -> dict[str, Planet]:
    """{name: the stored planet of that name ignoring case}, where "ignoring case" is what the
    database's lower() says (the unique index's), not Python's: they differ beyond ASCII."""
    lowered = [func.lower(literal(name, String)) for name in names]
    keys = dict(zip(names, db.session.execute(select(*lowered)).one(), strict=True))
    stored = db.session.execute(select(Planet, func.lower(Planet.name))
                                .where(func.lower(Planet.name).in_(lowered))).all()
    by_key = {key: planet for planet, key in stored}
    return {name: by_key[key] for name, key in keys.items() if key in by_key}


def import_rows(rows: Iterable[tuple[int, dict[str, str]]], *, update: bool = False,
                skip_invalid: bool = False, progress: Progress | None = None, actor: Any = None,
                via_detail: str = "") -> ImportResult:
    """Store valid CSV rows in one transaction: all or nothing unless `skip_invalid`; each
    planet created or changed is audited on its own.

    Names already in the catalog are left as they are unless `update` is set, which makes
    loading the same file twice change nothing.
    """
    valid, problems = validate_rows(rows)
    result = ImportResult(problems=problems)
    if problems and not skip_invalid:
        return result
    with committed(_race_lost):
        for start in range(0, len(valid), IMPORT_BATCH_SIZE):
            batch = valid[start : start + IMPORT_BATCH_SIZE]
            existing = _existing_by_name([clean["name"] for _, clean in batch])
            for _, clean in batch:
                planet = existing.get(clean["name"])
                if planet is None:
                    planet = Planet(**clean)
                    db.session.add(planet)
                    audit.record("planet.create", planet, changes=audit.diff({}, clean),
                                 actor=actor, via=Source.IMPORT, via_detail=via_detail)
                    result.created += 1
                    continue
                changes = audit.diff(_values(planet), clean) if update else {}
                if changes:
                    planet.apply(clean)
                    audit.record("planet.update", planet, changes=changes, actor=actor,
                                 via=Source.IMPORT, via_detail=via_detail)
                    result.updated += 1
                else:
                    result.unchanged += 1
            db.session.flush()
            if progress:
                progress(len(batch))
    result.stored = True
    return result


def seed_catalog(progress: Progress | None = None) -> ImportResult:
    """Load the real catalog; running it again changes nothing."""
    with CATALOG_FILE.open(newline="", encoding="utf-8") as stream:
        return import_rows(read_csv(stream), progress=progress, via_detail="seed catalog")


# --- synthetic planets for load tests ----------------------------------------------------------

SYNTHETIC_BATCH_SIZE = 20_000
# From this many rows on, secondary indexes are dropped for the load and rebuilt after it:
# building an index once is several times faster than updating it row by row.
REINDEX_THRESHOLD = 50_000
ROWS_PER_STATEMENT = 1000  # 15,000 parameters: inside SQLite's and PostgreSQL's limits


def _insert_statement(dialect, rows: int) -> str:
    """A multi-row INSERT of plain driver parameters: at a million rows, per-row SQLAlchemy
    processing and per-row statements cost more than the database's own work."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    values = f"({', '.join([marker] * len(COLUMNS))})"
    # Only constant names and placeholders go into the text; values travel as parameters.
    return (f"INSERT INTO {Planet.__tablename__} ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES {', '.join([values] * rows)}")


def _insert(rows: list[tuple], dialect) -> None:
    connection = db.session.connection()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        parameters = tuple(chain.from_iterable(chunk))
        connection.exec_driver_sql(_insert_statement(dialect, len(chunk)), parameters)


def _drop_secondary_indexes() -> list:
    indexes = [index for index in Planet.__table__.indexes if not index.unique]
    connection = db.session.connection()
    for index in indexes:
        index.drop(connection)
    db.session.commit()
    return indexes


def _create_indexes(indexes: list) -> None:
    db.session.rollback()
    connection = db.session.connection()
    for index in indexes:
        index.create(connection)
    db.session.commit()


def load_synthetic(count: int, progress: Progress | None = None) -> int:
    """Insert `count` synthetic planets, one transaction per batch, each audited by one summary
    event (count and id range); returns the first number."""
    first = next_number()
    dialect = db.session.get_bind().dialect
    timestamp = Planet.__table__.c.created_at.type.dialect_impl(dialect)
    to_database = timestamp.bind_processor(dialect) or (lambda value: value)
    rows = synthetic_rows(first, count, now=to_database(datetime.now(UTC)))
    indexes = _drop_secondary_indexes() if count >= REINDEX_THRESHOLD else []
    try:
        remaining = count
        while remaining:
            size = min(SYNTHETIC_BATCH_SIZE, remaining)
            last_id = db.session.scalar(select(func.max(Planet.id))) or 0
            _insert([next(rows) for _ in range(size)], dialect)
            new_ids = select(func.min(Planet.id), func.max(Planet.id)).where(Planet.id > last_id)
            first_id, end_id = db.session.execute(new_ids).one()
            audit.record("planet.bulk_create", target_type="planet", via=Source.CLI,
                         via_detail="synthetic planets",
                         changes={"count": [None, size], "ids": [None, f"{first_id}-{end_id}"]})
            db.session.commit()
            remaining -= size
            if progress:
                progress(size)
    finally:
        _create_indexes(indexes)
    if dialect.name == "postgresql" and count >= REINDEX_THRESHOLD:
        # PostgreSQL plans from table statistics, which a bulk load leaves stale until
        # autovacuum's next pass: a prefix search then walked the whole name index.
        db.session.execute(text("ANALYZE planets"))
        db.session.commit()
    return first
