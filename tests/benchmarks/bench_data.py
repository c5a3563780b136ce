"""The benchmark's databases: migrated with the project's migrations, filled with the real
catalog plus synthetic planets up to the wanted count, and staff-side rows (users, mission
applications, audit events) so that the console's other lists have a full first page; the
large one also gets a full audit log for the record history pages (bench_history.py).

SQLite files are cached in .bench-cache/ keyed by the migration head; on PostgreSQL each
database is a private schema, dropped at the end of the run.
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from bench_apps import ADMIN_PASSWORD, ADMIN_USERNAME, PROJECT_ROOT, console_app
from bench_history import HistorySizes, add_audit_history, add_editors
from werkzeug.security import generate_password_hash

from console.config import normalise_database_url
from console.services import accounts, applications
from console.services.planets import load_synthetic, seed_catalog
from models import ApplicationStatus, Planet, Role, User, db
from models import users as users_module
from seed import catalog_size

CACHE_DIR = PROJECT_ROOT / ".bench-cache"
DATA_VERSION = 4  # bump when build() changes what a database holds
MEMBERS = 1_000
MEMBER_PASSWORD = "bench member password 42"


@dataclass(frozen=True)
class Database:
    label: str  # "1k", "1M"
    planets: int
    url: str
    history: HistorySizes | None = None  # the full audit log, in the large database


def size_label(count: int) -> str:
    for divisor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if count >= divisor and count % divisor == 0:
            return f"{count // divisor}{suffix}"
    return str(count)


def migration_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return "+".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Hash the benchmark's passwords cheaply: a thousand scrypt hashes would dominate the
    build, and a cheap hash keeps the login check out of the export's peak memory."""
    original = users_module.generate_password_hash
    users_module.generate_password_hash = partial(generate_password_hash,
                                                  method="pbkdf2:sha256:1000")
    try:
        yield
    finally:
        users_module.generate_password_hash = original


def _add_planets(count: int) -> None:
    real = 0
    if count >= catalog_size():  # real planets, so that a search for "kepler" finds some
        real = seed_catalog().created
    if count > real:
        load_synthetic(count - real)


def _add_people() -> list[int]:
    """The admin the benchmark logs in as, and members; each account is audited."""
    with cheap_password_hashing():
        accounts.create_account(ADMIN_USERNAME, "bench-admin@example.com", ADMIN_PASSWORD,
                                Role.ADMIN, via="cli")
        return [accounts.create_account(f"member{number:04d}", f"member{number:04d}@example.com",
                                        MEMBER_PASSWORD, via="cli").id
                for number in range(1, MEMBERS + 1)]


def _add_applications(member_ids: list[int]) -> None:
    """Applications in every status, through the applications service (and audited)."""
    planets = db.session.scalars(
        sa.select(Planet).order_by(Planet.id).limit(len(member_ids))).all()
    reviewer = User.find_by_login(ADMIN_USERNAME)
    statuses = list(ApplicationStatus)
    for number, (member_id, planet) in enumerate(zip(member_ids, planets, strict=False)):
        member = db.session.get(User, member_id)
        application = applications.submit(member, planet, f"Benchmark application {number}.")
        status = statuses[number % len(statuses)]
        if status is ApplicationStatus.WITHDRAWN:
            applications.withdraw(application, member)
        elif status is not ApplicationStatus.PENDING:
            applications.review([application], reviewer, status, "Benchmark review.")


def build(url: str, planets: int, instance_path: Path, history: HistorySizes | None) -> None:
    """Migrate the empty database at `url` to head and fill it."""
    from flask_migrate import upgrade

    app = console_app(url, instance_path)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        _add_planets(planets)
        log(f"  {planets:,} planets in {time.perf_counter() - started:.0f} s")
        _add_applications(_add_people())
        if history is not None:
            started = time.perf_counter()
            with cheap_password_hashing():
                editors = add_editors()
            add_audit_history(history, editors, log)
            log(f"  audit log of {history.log:,} events, {history.busy:,} of one planet, in "
                f"{time.perf_counter() - started:.0f} s")
        if db.engine.dialect.name == "postgresql":
            _vacuum()
        db.engine.dispose()


def _vacuum() -> None:
    """VACUUM (ANALYZE) the bulk-loaded tables, as autovacuum does soon after so many inserts
    in production: until then no page is marked all-visible, and an index-only scan (the
    deep pages' skipped rows) reads the table for every row it skips."""
    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM (ANALYZE)"))
    log(f"  vacuumed in {time.perf_counter() - started:.0f} s")


def _file_name(planets: int, history: HistorySizes | None) -> str:
    log_size = f"-log-{history.log}-{history.busy}" if history else ""
    return f"planets-{planets}{log_size}-{migration_head()}-v{DATA_VERSION}.db"


def sqlite_database(planets: int, workdir: Path, *, cache: bool, rebuild: bool,
                    history: HistorySizes | None = None) -> Database:
    """A SQLite file with `planets` planets (and the audit log `history`), from the cache
    unless it is stale or `rebuild`."""
    label = size_label(planets)
    name = _file_name(planets, history)
    target = (CACHE_DIR if cache else workdir) / name
    if rebuild or not target.exists():
        log(f"Building the {label} SQLite database ({target.name})")
        staging = workdir / f"staging-{name}"
        staging.unlink(missing_ok=True)
        started = time.perf_counter()
        build(f"sqlite:///{staging}", planets, workdir / f"instance-build-{label}", history)
        log(f"  built in {time.perf_counter() - started:.0f} s")
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f"planets-{planets}-*.db"):
            # Other versions of this database, and any older one; the current version of the
            # other kind (with or without the full audit log) stays.
            same_kind = ("-log-" in stale.name) == (history is not None)
            if same_kind or not stale.name.endswith(f"-v{DATA_VERSION}.db"):
                stale.unlink()
        shutil.move(staging, target)
    return Database(label, planets, f"sqlite:///{target}", history)


def _schema_url(base_url: str, schema: str) -> str:
    """The schema's URL; public follows it on the search_path, for pg_trgm (see
    _shared_extensions)."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema},public"


def _shared_extensions(engine: sa.Engine) -> None:
    """pg_trgm in the public schema, as tests/databases.py makes it: created by the migrations
    with a private schema first on the search_path, it would go into that schema, out of
    the others' sight, and be dropped with it. The lock keeps runs side by side from creating
    it at the same time."""
    with engine.connect() as connection, connection.execution_options(
            isolation_level="READ COMMITTED").begin():  # the engine's AUTOCOMMIT: no lock
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('pg_trgm'))"))
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))


@contextmanager
def postgres_databases(base_url: str, sizes: list[tuple[int, HistorySizes | None]],
                       workdir: Path) -> Iterator[list[Database]]:
    """One private schema per (planets, audit log) in the database at `base_url`, dropped at
    the end."""
    base_url = normalise_database_url(base_url)
    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    _shared_extensions(engine)
    schemas: list[str] = []
    try:
        databases = []
        for planets, history in sizes:
            label = size_label(planets)
            schema = f"bench_{label.lower()}_{uuid.uuid4().hex[:10]}"
            with engine.connect() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            url = _schema_url(base_url, schema)
            log(f"Building the {label} PostgreSQL schema {schema}")
            started = time.perf_counter()
            build(url, planets, workdir / f"instance-build-{label}", history)
            log(f"  built in {time.perf_counter() - started:.0f} s")
            databases.append(Database(label, planets, url, history))
        yield databases
    finally:
        with engine.connect() as connection:
            for schema in schemas:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def describe_database(database: Database) -> str:
    """"SQLite 3.x, <file>" or "PostgreSQL 16.x, <schema>", as the server reports itself."""
    url = sa.make_url(database.url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                version = connection.execute(sa.text("select sqlite_version()")).scalar()
                path = Path(url.database or "")
                if path.is_relative_to(PROJECT_ROOT):
                    path = path.relative_to(PROJECT_ROOT)
                return f"SQLite {version}, file `{path}` for the large database"
            version = connection.execute(sa.text("show server_version")).scalar()
            return f"PostgreSQL {version}, a private schema per database, dropped after the run"
    finally:
        engine.dispose()
