"""The planets catalog: the Planet model and the one schema every planet input passes through.

The planets service (console/services/planets.py) calls `clean_planet` for every input of the
console, the API, the CSV import and the seed loader, so a value is judged by the same rule and
described by the same message wherever it comes from.
The database repeats the ranges as CHECK constraints, so no path around the schema can store
an impossible planet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models import NEVER_REUSE_IDS, db, one_of, sort_indexes, utcnow
from models.errors import DomainError

EARLIEST_DISCOVERY_YEAR = 1600  # the telescope; planets known since antiquity have no year
LATEST_DISCOVERY_YEAR_CHECK = 2100  # the database's bound; the schema refuses future years
MAX_MAGNITUDE = 1e15  # no catalog value comes near; larger ones are typing errors


class PlanetType(StrEnum):
    TERRESTRIAL = "terrestrial"
    SUPER_EARTH = "super_earth"
    NEPTUNE_LIKE = "neptune_like"
    GAS_GIANT = "gas_giant"
    ICE_GIANT = "ice_giant"
    DWARF = "dwarf"

    @property
    def label(self) -> str:
        return PLANET_TYPE_LABELS[self]


class DiscoveryMethod(StrEnum):
    TRANSIT = "transit"
    RADIAL_VELOCITY = "radial_velocity"
    IMAGING = "imaging"
    MICROLENSING = "microlensing"
    TIMING = "timing"
    ASTROMETRY = "astrometry"
    OBSERVATION = "observation"  # telescopic or naked-eye observation in the Solar System

    @property
    def label(self) -> str:
        return DISCOVERY_METHOD_LABELS[self]


PLANET_TYPE_LABELS = {
    PlanetType.TERRESTRIAL: "Terrestrial",
    PlanetType.SUPER_EARTH: "Super-Earth",
    PlanetType.NEPTUNE_LIKE: "Neptune-like",
    PlanetType.GAS_GIANT: "Gas giant",
    PlanetType.ICE_GIANT: "Ice giant",
    PlanetType.DWARF: "Dwarf planet",
}
DISCOVERY_METHOD_LABELS = {
    DiscoveryMethod.TRANSIT: "Transit",
    DiscoveryMethod.RADIAL_VELOCITY: "Radial velocity",
    DiscoveryMethod.IMAGING: "Imaging",
    DiscoveryMethod.MICROLENSING: "Microlensing",
    DiscoveryMethod.TIMING: "Timing",
    DiscoveryMethod.ASTROMETRY: "Astrometry",
    DiscoveryMethod.OBSERVATION: "Observation",
}


class Planet(db.Model):
    __tablename__ = "planets"
    __table_args__ = (
        one_of("planet_type", PlanetType, "planet_type_known"),
        one_of("discovery_method", DiscoveryMethod, "discovery_method_known"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint(
            f"discovery_year BETWEEN {EARLIEST_DISCOVERY_YEAR} AND {LATEST_DISCOVERY_YEAR_CHECK}",
            name="discovery_year_range",
        ),
        CheckConstraint("mass_earth > 0", name="mass_positive"),
        CheckConstraint("radius_earth > 0", name="radius_positive"),
        CheckConstraint("orbital_period_days > 0", name="period_positive"),
        CheckConstraint("semi_major_axis_au > 0", name="semi_major_axis_positive"),
        CheckConstraint("distance_ly >= 0", name="distance_not_negative"),
        CheckConstraint("equilibrium_temp_k > 0", name="temperature_positive"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    planet_type: Mapped[str] = mapped_column(String(20))
    host_star: Mapped[str] = mapped_column(String(100))
    discovery_year: Mapped[int | None] = mapped_column(Integer)
    discovery_method: Mapped[str] = mapped_column(String(20))
    mass_earth: Mapped[float | None] = mapped_column(Float)
    radius_earth: Mapped[float | None] = mapped_column(Float)
    orbital_period_days: Mapped[float | None] = mapped_column(Float)
    semi_major_axis_au: Mapped[float | None] = mapped_column(Float)
    distance_ly: Mapped[float | None] = mapped_column(Float)
    equilibrium_temp_k: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(300), default="")
    # Archived planets leave the public catalog, the application form and the API's default
    # list, but keep their applications and history; planets with applications are archived,
    # never deleted.
    archived: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Raised by every update; an update of a version someone else changed meanwhile fails.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Planet {self.id} {self.name!r}>"

    def __str__(self) -> str:
        return self.name

    @property
    def type_label(self) -> str:
        return PlanetType(self.planet_type).label

    @property
    def method_label(self) -> str:
        return DiscoveryMethod(self.discovery_method).label

    @staticmethod
    def find_by_name(name: str) -> Planet | None:
        # Both sides lowered by the database, as its unique index on lower(name) does.
        query = select(Planet).where(func.lower(Planet.name) == func.lower(name.strip()))
        return db.session.scalar(query)

    @staticmethod
    def name_key() -> ColumnElement[str]:
        """Names sort ignoring case, as the unique index on lower(name) holds them."""
        return func.lower(Planet.name, type_=String)

    @staticmethod
    def search(text: str, dialect: str) -> ColumnElement[bool]:
        """Planets whose name or host star starts with `text`, ignoring case, in a form the
        lower(...) indexes serve on `dialect` (see starts_with)."""
        prefix = text.strip().lower()
        return or_(starts_with(func.lower(Planet.name), prefix, dialect),
                   starts_with(func.lower(Planet.host_star), prefix, dialect))

    def apply(self, values: Mapping[str, Any]) -> None:
        """Set cleaned values (the output of clean_planet) on this planet."""
        for key, value in values.items():
            setattr(self, key, value)


# Unique ignoring case in the database itself; the lowered columns also serve prefix search.
Index("uq_planets_name_lower", func.lower(Planet.name), unique=True)
Index("ix_planets_host_star_lower", func.lower(Planet.host_star))
# LIKE 'prefix%' uses these on PostgreSQL whatever the database's collation.
for _column in (Planet.name, Planet.host_star):
    _lowered = func.lower(_column).label(f"lower_{_column.key}")
    Index(f"ix_planets_{_column.key}_pattern", _lowered,
          postgresql_ops={_lowered.name: "text_pattern_ops"}).ddl_if(dialect="postgresql")
sort_indexes(Planet.name, Planet.host_star, Planet.planet_type, Planet.discovery_year,
             Planet.discovery_method, Planet.mass_earth, Planet.radius_earth,
             Planet.orbital_period_days, Planet.semi_major_axis_au, Planet.distance_ly,
             Planet.equilibrium_temp_k, Planet.updated_at)
# The catalog as the public pages and the API list it (archived ones left out), in name order:
# skipping rows on a deep page then reads only this index, not the table.
_lowered_name = func.lower(Planet.name).label("lower_name")
Index("ix_planets_listed", _lowered_name, Planet.id, sqlite_where=text("archived = 0"),
      postgresql_where=text("NOT archived"))
# The few archived planets, for the console's filter; only a partial index: one on archived for
# every row would tempt the planner away from the name index on the catalog's pages.
Index("ix_planets_archived", Planet.id, sqlite_where=text("archived = 1"),
      postgresql_where=text("archived"))


def starts_with(expression: ColumnElement[str], prefix: str, dialect: str) -> ColumnElement[bool]:
    """`expression` starts with `prefix`, written so that an index on `expression` serves it.

    SQLite compares text byte by byte, so a prefix is the range [prefix, next prefix), which
    its B-tree index answers. PostgreSQL's collation-aware order makes such a range wrong,
    but LIKE 'prefix%' uses a text_pattern_ops index there.
    """
    if dialect == "sqlite" and prefix and ord(prefix[-1]) < 0x10FFFF:
        following = ord(prefix[-1]) + 1
        if 0xD800 <= following <= 0xDFFF:  # surrogates are no characters: skip to U+E000
            following = 0xE000
        upper = prefix[:-1] + chr(following)
        return (expression >= prefix) & (expression < upper)
    return expression.startswith(prefix, autoescape=True)


# --- the schema -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanetField:
    name: str
    label: str
    kind: str  # "text", "choice", "int" or "float"
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive_minimum: bool = False
    unit: str = ""
    description: str = ""


PLANET_FIELDS: tuple[PlanetField, ...] = (
    PlanetField("name", "Name", "text", required=True, max_length=100),
    PlanetField("planet_type", "Type", "choice", required=True,
                choices=tuple(t.value for t in PlanetType)),
    PlanetField("host_star", "Host star", "text", required=True, max_length=100),
    PlanetField("discovery_year", "Discovery year", "int", minimum=EARLIEST_DISCOVERY_YEAR,
                description="empty for planets known since antiquity"),
    PlanetField("discovery_method", "Discovery method", "choice", required=True,
                choices=tuple(m.value for m in DiscoveryMethod)),
    PlanetField("mass_earth", "Mass", "float", minimum=0, exclusive_minimum=True,
                unit="Earth masses"),
    PlanetField("radius_earth", "Radius", "float", minimum=0, exclusive_minimum=True,
                unit="Earth radii"),
    PlanetField("orbital_period_days", "Orbital period", "float", minimum=0,
                exclusive_minimum=True, unit="days"),
    PlanetField("semi_major_axis_au", "Semi-major axis", "float", minimum=0,
                exclusive_minimum=True, unit="AU"),
    PlanetField("distance_ly", "Distance", "float", minimum=0, unit="light years"),
    PlanetField("equilibrium_temp_k", "Equilibrium temperature", "float", minimum=0,
                exclusive_minimum=True, unit="K"),
    PlanetField("description", "Description", "text", max_length=2000),
    PlanetField("source", "Source", "text", max_length=300),
)
FIELDS_BY_NAME = {field.name: field for field in PLANET_FIELDS}


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f]")  # below space, but tab and newline


def _clean_text(field: PlanetField, value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError("must be text")
    value = value.strip()
    if _CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    if not value.isascii() and any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        raise ValueError("must be valid Unicode text")  # lone surrogates cannot be stored
    if field.max_length and len(value) > field.max_length:
        raise ValueError(f"must be at most {field.max_length} characters")
    return value


def _clean_number(field: PlanetField, value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    if field.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            value = value.strip()
            if not value.lstrip("-").isdigit() or len(value) > 6:
                raise ValueError("must be a whole number")
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("must be a whole number")
        current_year = datetime.now(UTC).year
        if value < EARLIEST_DISCOVERY_YEAR:
            raise ValueError(f"must be {EARLIEST_DISCOVERY_YEAR} or later")
        if value > current_year:
            raise ValueError("cannot be in the future")
        return value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        value = float(value)
    except OverflowError:  # an int too large for a float
        raise ValueError("must be a finite number") from None
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ValueError("must be a finite number")
    if field.exclusive_minimum and value <= field.minimum:
        raise ValueError(f"must be greater than {field.minimum:g}")
    if not field.exclusive_minimum and field.minimum is not None and value < field.minimum:
        raise ValueError(f"must be at least {field.minimum:g}")
    return value


def _clean_value(field: PlanetField, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        if field.required:
            raise ValueError("is required")
        return "" if field.kind == "text" else None
    if field.kind == "text":
        return _clean_text(field, value)
    if field.kind == "choice":
        if not isinstance(value, str) or value.strip() not in field.choices:
            raise ValueError(f"must be one of: {', '.join(field.choices)}")
        return value.strip()
    return _clean_number(field, value)


def clean_planet(raw: Mapping[str, Any], *, partial: bool = False,
                 ignore: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Validate one planet input; return clean values or raise DomainError naming every bad
    field.

    `partial` checks only the fields present (a PATCH); otherwise missing fields count as
    empty. Fields not in the schema are refused unless named in `ignore`.
    """
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in FIELDS_BY_NAME and key not in ignore:
            errors[str(key)] = ["is not a planet field"]
    clean: dict[str, Any] = {}
    for field in PLANET_FIELDS:
        if partial and field.name not in raw:
            continue
        try:
            clean[field.name] = _clean_value(field, raw.get(field.name))
        except ValueError as error:
            errors[field.name] = [str(error)]
    if errors:
        raise DomainError(errors)
    return clean


def duplicate_name_message(name: str) -> str:
    return f"a planet named {name!r} already exists"
