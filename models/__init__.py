"""SQLAlchemy models; `db` is created here, unbound, and bound by the app factory."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import CheckConstraint, Index, MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations can alter and drop them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def json_text(value: Any) -> str:
    """The text of a JSON column (audit changes, job payloads). orjson rather than json.dumps:
    a million-planet import writes an audit event per planet, and json.dumps spent 12 µs on
    each (its floats), orjson under 2."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


db = SQLAlchemy(model_class=Base, engine_options={"json_serializer": json_text})

MAX_ID = 2**31 - 1  # the range of an integer id column on every database
# SQLite hands a deleted row's id to the next row unless the table says AUTOINCREMENT; ids are
# never reused, so audit events and old links never point at another record.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def whole_number(raw: object, high: int = MAX_ID) -> int | None:
    """`raw` as a number from 1 to `high` (an id, a page, a version) when it is written as one
    in ASCII digits, else None: never an error, however long or odd the text."""
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()
            and len(raw) <= len(str(high))):
        return None
    return int(raw) if 1 <= int(raw) <= high else None


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC: every time is stored in UTC, and SQLite hands them back naive (without
    a zone), PostgreSQL in the connection's zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def one_of(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    """A CHECK constraint that `column` holds one of the enum's values."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(v.value) for v in values)})", name=name)


def sort_indexes(*columns: Any) -> None:
    """An index ix_<table>_<column>_id on (column, id) for each sort key of a model's list.

    Keyset paging (models/paging.py) sorts by the key, then the id, and seeks within a run of
    equal values; PostgreSQL answers that from the index only when the index holds the id
    (SQLite's indexes end with it anyway).
    """
    for column in columns:
        model = column.class_
        Index(f"ix_{model.__tablename__}_{column.key}_id", column, model.id)

from models.api_tokens import ApiToken  # noqa: E402
from models.applications import ApplicationStatus, MissionApplication  # noqa: E402
from models.audit import AuditEvent  # noqa: E402
from models.import_files import ImportFile, ImportFileChunk  # noqa: E402
from models.jobs import Job, JobState  # noqa: E402
from models.planets import DiscoveryMethod, Planet, PlanetType  # noqa: E402
from models.sessions import RecoveryCode, UserSession  # noqa: E402
from models.users import Role, Theme, User  # noqa: E402

__all__ = [
    "MAX_ID",
    "ApiToken", "ApplicationStatus", "AuditEvent", "Base", "DiscoveryMethod", "ImportFile",
    "ImportFileChunk", "Job", "JobState",
    "MissionApplication",
    "Planet", "PlanetType", "RecoveryCode", "Role", "Theme", "User", "UserSession", "db",
]
