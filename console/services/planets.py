"""Every write of the planets catalog: create, update, delete, archive, CSV import, the seed
catalog and synthetic bulk loads. The console, the API and the CLI only translate to and from
these functions; each change is audited, field by field, in the transaction that stores it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from operator import itemgetter
from typing import IO, Any

from sqlalchemy import func, select, text

from console import audit
from console.audit import Source
from console.history import RevertField, revert_fields_of
from console.planet_csv import clean_row, read_csv, repeated_name_message
from console.planet_import import (
    ByteCount,
    ImportProgress,
    ImportReport,
    ProgressCallback,
    SeenNames,
)
from console.services.transaction import committed
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet, db
from models.errors import DomainError, Refusal
from models.planets import (
    PLANET_FIELDS,
    SEARCH_INDEX_REBUILD,
    SEARCH_INSERT_TRIGGER,
    SEARCH_INSERT_TRIGGER_DDL,
    clean_planet,
    duplicate_name_message,
)
from seed import CATALOG_FILE
from seed.synthetic import COLUMNS, next_number, synthetic_rows

AUDITED_FIELDS = tuple(f.name for f in PLANET_FIELDS)
IMPORT_COLUMNS = (*AUDITED_FIELDS, "created_at", "updated_at")  # the rest: server defaults
IMPORT_BATCH_SIZE = 500  # at most 2,000: one SELECT lowers a batch's names, a column each
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
class _Stored:
    """A planet of the catalog that a row names: its id and audited values, and the planet
    itself when the import is to change it."""

    id: int
    values: dict[str, Any]
    planet: Planet | None = None


def _lowered(names: Sequence[str]) -> list[str]:
    """Each name as the database's lower() makes it: "the same name ignoring case" is what the
    unique index on lower(name) says, not Python's str.lower() (they differ beyond ASCII)."""
    marker = _marker(db.session.get_bind().dialect)
    query = "SELECT " + ", ".join([f"lower(CAST({marker} AS TEXT))"] * len(names))
    return list(db.session.connection().exec_driver_sql(query, tuple(names)).one())


def _stored_by_key(keys: Sequence[str], *, load: bool) -> dict[str, _Stored]:
    """{key: the stored planet whose lower(name) is key}; `load` the planets themselves (to
    change them), else only their values, which is several times cheaper."""
    key = func.lower(Planet.name)
    if load:
        loaded = db.session.execute(select(Planet, key).where(key.in_(keys))).all()
        return {name: _Stored(planet.id, _values(planet), planet) for planet, name in loaded}
    columns = [Planet.__table__.c[name] for name in AUDITED_FIELDS]
    rows = db.session.execute(select(Planet.id, key, *columns).where(key.in_(keys))).all()
    return {row[1]: _Stored(row[0], dict(zip(AUDITED_FIELDS, row[2:], strict=True)))
            for row in rows}


CsvRow = tuple[int, Mapping[str | None, Any]]  # (line number, cells by column)


def _fresh_rows(chunk: Sequence[CsvRow], report: ImportReport,
                seen: SeenNames) -> list[tuple[int, str, dict[str, Any]]]:
    """(line, key, clean values) of the valid rows of `chunk` whose name the file has not had
    on an earlier line; every other row goes into the report as invalid, in line order."""
    report.rows += len(chunk)
    rejected: list[tuple[int, Mapping[str | None, Any], dict[str, list[str]]]] = []
    valid = []
    for line, row in chunk:
        try:
            valid.append((line, row, clean_row(row)))
        except DomainError as error:
            rejected.append((line, row, error.fields))
    fresh = []
    if valid:
        keys = _lowered([clean["name"] for _, _, clean in valid])
        earlier = seen.first_lines(keys)
        first_lines: dict[str, int] = {}
        for (line, row, clean), key in zip(valid, keys, strict=True):
            if first := earlier.get(key) or first_lines.get(key):
                rejected.append((line, row, {"name": [repeated_name_message(first)]}))
            else:
                first_lines[key] = line
                fresh.append((line, key, clean))
        seen.add(first_lines)
    for line, row, errors in sorted(rejected, key=itemgetter(0)):
        report.reject(line, row, errors)
    return fresh


def _import_batch(fresh: Sequence[tuple[int, str, dict[str, Any]]], report: ImportReport, *,
                  writing: bool, actor: Any, via_detail: str) -> None:
    """Sort the rows of one batch into adds, updates and unchanged names, for the report; and
    store them, audited per planet, when `writing`."""
    if not fresh:
        return
    stored = _stored_by_key([key for _, key, _ in fresh], load=writing and report.update)
    creates: list[tuple[str, dict[str, Any]]] = []  # (key, clean values)
    changes: list[tuple[Planet, dict[str, Any], dict[str, list[Any]]]] = []
    for line, key, clean in fresh:
        current = stored.get(key)
        if current is None:
            report.add(line, clean["name"])
            creates.append((key, clean))
        elif report.update and (diff := audit.diff(current.values, clean)):
            report.change(line, current.id, clean["name"], diff)
            changes.append((current.planet, clean, diff))
        else:
            report.unchanged += 1
    if writing:
        _store(creates, changes, actor=actor, via_detail=via_detail)
    for current in stored.values():
        if current.planet is not None:
            db.session.expunge(current.planet)  # the session stays as small as one batch


def _store(creates: Sequence[tuple[str, dict[str, Any]]],
           changes: Sequence[tuple[Planet, dict[str, Any], dict[str, list[Any]]]], *,
           actor: Any, via_detail: str) -> None:
    """New planets by one multi-row INSERT (no ORM object each), changed ones through the ORM
    (version check), and an audit event per planet, all in the import's transaction."""
    ids: dict[str, int] = {}
    if creates:
        dialect = db.session.get_bind().dialect
        now = _database_time(dialect)
        _insert([(*(clean[name] for name in AUDITED_FIELDS), now, now) for _, clean in creates],
                dialect, IMPORT_COLUMNS)
        # Their ids by their keys, which are unique: RETURNING in parameter order would cost
        # SQLite one statement per row.
        key = func.lower(Planet.name)
        ids = dict(db.session.execute(select(key, Planet.id)
                                      .where(key.in_([k for k, _ in creates]))).all())
    for planet, clean, _ in changes:
        planet.apply(clean)
    if changes:
        db.session.flush()
    # A generator: each create's changes are made, written out and freed one by one.
    events = chain((("planet.create", ids[k], audit.diff({}, clean)) for k, clean in creates),
                   (("planet.update", planet.id, diff) for planet, _, diff in changes))
    audit.record_many("planet", events, actor=actor, via=Source.IMPORT, via_detail=via_detail)


def _new_report(limit: int | None, **options: bool) -> ImportReport:
    return ImportReport(**options) if limit is None else ImportReport(limit=limit, **options)


def import_rows(rows: Iterable[CsvRow], *, dry_run: bool = False, update: bool = False,
                skip_invalid: bool = False, progress: ProgressCallback | None = None,
                actor: Any = None, via_detail: str = "",
                limit: int | None = None) -> ImportReport:
    """Import (line, CSV row) pairs in one pass: all or nothing unless `skip_invalid`; each
    planet created or changed is audited on its own. `dry_run` stores nothing and reports what
    an import would do, by the same code. Names already stored are left as they are unless
    `update`, so loading the same file twice changes nothing.

    Memory stays flat whatever the number of rows: they are read in batches of
    IMPORT_BATCH_SIZE, never all at once; the names of each batch are lowered and looked up by
    the database; a name repeated in the file is found in a register of the names read so far
    (SeenNames, a temporary SQLite file); the report keeps the first `limit` (by default
    REPORT_LIMIT) entries of each kind; the session holds no more than one batch.

    All or nothing in one pass: the rows are stored as they are read, in one transaction that
    is committed at the end, or rolled back if the file had an invalid row (and not
    `skip_invalid`). From the first invalid row on, nothing more is written and the rest of the
    file is only checked, for the report. Validating in a first pass and storing in a second
    would read and check every row twice, and would need a stream that can be read again
    (an upload as it arrives cannot be); this way a valid file, the usual one after a dry
    run, costs one pass. On SQLite the transaction keeps other writers waiting until it ends;
    a dry run writes nothing and keeps nobody waiting.

    The import runs in a transaction of its own: it commits or rolls back the session, so call
    it with nothing pending there. `progress` is called after every batch.
    """
    report = _new_report(limit, dry_run=dry_run, update=update, skip_invalid=skip_invalid)
    return _import(rows, report, lambda: ImportProgress(report.rows, report.rows), progress,
                   actor=actor, via_detail=via_detail)


def import_csv(stream: IO[bytes], *, size: int | None = None, dry_run: bool = False,
               update: bool = False, skip_invalid: bool = False,
               progress: ProgressCallback | None = None, actor: Any = None,
               via_detail: str = "", limit: int | None = None,
               commit: bool = True) -> ImportReport:
    """Import (or dry-run) a CSV file in the export format from a binary stream, read as it
    goes (see import_rows); progress is in bytes of `size` (by default the file's size, when
    the stream is a file). Raises ValueError for a bad header or text that is not UTF-8,
    csv.Error for a malformed file: nothing is stored then. With `commit` False, rows stored
    are left in the session's transaction for the caller to commit (a job commits them with
    its end, so that a worker killed before that leaves nothing applied)."""
    counted = ByteCount(stream, size)
    report = _new_report(limit, dry_run=dry_run, update=update, skip_invalid=skip_invalid)
    return _import(read_csv(counted.text()), report,
                   lambda: ImportProgress(report.rows, counted.done, counted.total), progress,
                   actor=actor, via_detail=via_detail, commit=commit)


class _Reindex:
    """On SQLite, the planets table's secondary indexes dropped for a large import and built
    again before it commits, all inside its transaction (a rollback brings them back as they
    were): SQLite updating each of them row by row cost more than the rest of the import. So
    does the trigram search index: its insert trigger is dropped with them and the index
    rebuilt from the table at the end (a million planets: 5 s, against 11 s by trigger).
    Only once the import has added REINDEX_THRESHOLD planets and at least half as many as the
    catalog held before it, so that building the indexes again costs less than it saves. Not
    on PostgreSQL, where dropping an index would lock every reader out of the table until the
    import ends."""

    def __init__(self) -> None:
        self.dropped: list = []
        self.threshold: int | None = None
        if db.session.get_bind().dialect.name == "sqlite":
            before = db.session.scalar(select(func.count()).select_from(Planet)) or 0
            self.threshold = max(REINDEX_THRESHOLD, before // 2)

    def added(self, created: int) -> None:
        if self.threshold is not None and not self.dropped and created >= self.threshold:
            self.dropped = [index for index in Planet.__table__.indexes if not index.unique]
            connection = db.session.connection()
            for index in self.dropped:
                index.drop(connection)
            connection.exec_driver_sql(f"DROP TRIGGER {SEARCH_INSERT_TRIGGER}")

    def build(self) -> None:
        if not self.dropped:
            return
        connection = db.session.connection()
        for index in self.dropped:
            index.create(connection)
        connection.exec_driver_sql(SEARCH_INSERT_TRIGGER_DDL)
        connection.exec_driver_sql(SEARCH_INDEX_REBUILD)


def _import(rows: Iterable[CsvRow], report: ImportReport, where: Callable[[], ImportProgress],
            progress: ProgressCallback | None, *, actor: Any, via_detail: str,
            commit: bool = True) -> ImportReport:
    rows = iter(rows)
    writing = not report.dry_run
    try:
        with committed(_race_lost, commit=commit), SeenNames() as seen:
            if db.session.get_bind().dialect.name == "postgresql":
                # Every lookup of the import is by lower(name), which the unique index
                # answers; but the planner, from statistics of the table before the import,
                # chose to scan the whole table for each batch, which grows with every batch
                # (minutes for 100,000 rows). For this transaction only.
                db.session.execute(text("SET LOCAL enable_seqscan = off"))
                # Nor the trigram indexes of search (GIN, read by bitmap scans only), which
                # also answer "=": their list of entries not yet merged grows with every
                # batch, and each lookup read all of it (20,000 rows took two minutes).
                db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
            reindex = _Reindex() if writing else None
            while chunk := list(islice(rows, IMPORT_BATCH_SIZE)):
                fresh = _fresh_rows(chunk, report, seen)
                writing = writing and (report.skip_invalid or not report.invalid)
                _import_batch(fresh, report, writing=writing, actor=actor,
                              via_detail=via_detail)
                if writing:
                    reindex.added(report.created)
                if progress:
                    progress(where())
            report.stored = writing
            if writing:
                reindex.build()
            else:
                db.session.rollback()  # the rows stored before the first invalid one
    except BaseException:
        db.session.rollback()
        raise
    return report


def seed_catalog(progress: ProgressCallback | None = None) -> ImportReport:
    """Load the real catalog; running it again changes nothing."""
    with CATALOG_FILE.open(newline="", encoding="utf-8") as stream:
        return import_rows(read_csv(stream), progress=progress, via_detail="seed catalog")


# --- synthetic planets for load tests ----------------------------------------------------------

SYNTHETIC_BATCH_SIZE = 20_000
# From this many rows on, secondary indexes are dropped for the load and rebuilt after it:
# building an index once is several times faster than updating it row by row.
REINDEX_THRESHOLD = 50_000
ROWS_PER_STATEMENT = 1000  # 15,000 parameters: inside SQLite's and PostgreSQL's limits


def _marker(dialect) -> str:
    """The driver's parameter placeholder."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _database_time(dialect) -> Any:
    """Now, as the driver takes a timestamp of the planets table."""
    timestamp = Planet.__table__.c.created_at.type.dialect_impl(dialect)
    to_database = timestamp.bind_processor(dialect) or (lambda value: value)
    return to_database(datetime.now(UTC))


def _insert_statement(dialect, rows: int, columns: Sequence[str] = COLUMNS) -> str:
    """A multi-row INSERT of plain driver parameters (the columns not named take their server
    defaults): at a million rows, per-row SQLAlchemy processing and per-row statements cost
    more than the database's own work."""
    marker = _marker(dialect)
    values = f"({', '.join([marker] * len(columns))})"
    # Only constant names and placeholders go into the text; values travel as parameters.
    return (f"INSERT INTO {Planet.__tablename__} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES {', '.join([values] * rows)}")


def _insert(rows: list[tuple], dialect, columns: Sequence[str] = COLUMNS) -> None:
    connection = db.session.connection()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        parameters = tuple(chain.from_iterable(chunk))
        connection.exec_driver_sql(_insert_statement(dialect, len(chunk), columns), parameters)


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
    rows = synthetic_rows(first, count, now=_database_time(dialect))
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
