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
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from time import monotonic
from typing import Any, TypeVar

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ColumnElement,
    Computed,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    column,
    event,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Mapped, mapped_column

from models import NEVER_REUSE_IDS, db, one_of, sort_indexes, utcnow
from models.errors import DomainError

EARLIEST_DISCOVERY_YEAR = 1600  # the telescope; planets known since antiquity have no year
LATEST_DISCOVERY_YEAR_CHECK = 2100  # the database's bound; the schema refuses future years
MAX_MAGNITUDE = 1e15  # no catalog value comes near; larger ones are typing errors
SOLAR_SYSTEM_HOST = "Sun"  # the host star of the Solar System's planets, as the catalog names it
# The planets people knew before the telescope; the seed catalog leaves their discovery year
# empty (seed/README.md). Any other planet without a year has an unknown one.
KNOWN_SINCE_ANTIQUITY = frozenset({"mercury", "venus", "earth", "mars", "jupiter", "saturn"})


# The name and the host star, lowered, with a space between: what a search looks in (a word of
# a search holds no space, so it never spans the two). A generated column, so that a search
# compares stored text rather than lowering two columns of every row it reads.
SEARCH_TEXT = "lower(name) || ' ' || lower(host_star)"


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
    # What a search looks in (see SEARCH_TEXT), kept by the database; no page reads it.
    # Stored; a migration can add it to an SQLite table only as computed when read (0017).
    search_text: Mapped[str] = mapped_column(Text, Computed(SEARCH_TEXT, persisted=True),
                                             deferred=True)
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

    @property
    def in_solar_system(self) -> bool:
        """A planet of the Sun: the catalog gives it no distance in light years."""
        return (self.host_star or "").strip().lower() == SOLAR_SYSTEM_HOST.lower()

    @property
    def known_since_antiquity(self) -> bool:
        """Mercury to Saturn, whose discovery has no year; Uranus and Neptune have one."""
        return (self.discovery_year is None and self.in_solar_system
                and (self.name or "").strip().lower() in KNOWN_SINCE_ANTIQUITY)

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
        """The planets a search finds, ignoring case, in a form an index serves on `dialect`.

        Every word of three characters or more is in the name or the host star (the trigram
        index, see SEARCH_INDEX_DDL); a shorter word starts the name, the host star or a word
        of theirs ("centauri b"). Text of short words only ("hd", "51 p") is a prefix of the
        name or the host star, as the lower(...) indexes answer it (see starts_with): a
        trigram index cannot find fewer than three characters. On SQLite this asks an index
        how many planets match first (see _contain and _starting).
        """
        words = text.lower().split()
        if _prefix_only(words):
            return _starting(text.strip().lower(), dialect)
        return and_(_contain(words, dialect),
                    *(_starts_a_word(word, dialect) for word in words
                      if len(word) < SUBSTRING_MIN))

    @staticmethod
    def search_key(text: str, dialect: str) -> ColumnElement[str]:
        """The sort key of a search's results listed by name: name_key(), but on PostgreSQL,
        when its planner expects few planets to match (see _read_first), the same values in
        an expression that no index holds. The planner then reads the matches from the
        trigram index and sorts them, rather than walk the names in order until a page of
        matches turns up: it prices that walk as if matches were spread evenly, and numbered
        names cluster (every Kepler-452 together), so the walk reads many times the rows it
        expects."""
        key = Planet.name_key()
        return _unindexed(key) if Planet.search_sorted(text, dialect) else key

    @staticmethod
    def search_sorted(text: str, dialect: str) -> bool:
        """Whether a search's results listed by name are read from the trigram index and
        sorted, rather than walked in name order (see search_key)."""
        words = text.lower().split()
        return (dialect == "postgresql" and not _prefix_only(words)
                and _read_first(_long(words)) is not None)

    @staticmethod
    def search_lead(text: str) -> str:
        """What the names that come first among a search's results start with (with no sort
        chosen): the search's text when it is a prefix search, else its first word."""
        words = text.lower().split()
        return text.strip().lower() if _prefix_only(words) else words[0]

    def apply(self, values: Mapping[str, Any]) -> None:
        """Set cleaned values (the output of clean_planet) on this planet."""
        for key, value in values.items():
            setattr(self, key, value)


# Unique ignoring case in the database itself; the lowered columns also serve prefix search.
Index("uq_planets_name_lower", func.lower(Planet.name), unique=True)
Index("ix_planets_host_star_lower", func.lower(Planet.host_star))
# On PostgreSQL, LIKE 'prefix%' uses these whatever the database's collation.
for _column in (Planet.name, Planet.host_star):
    _lowered = func.lower(_column).label(f"lower_{_column.key}")
    Index(f"ix_planets_{_column.key}_pattern", _lowered,
          postgresql_ops={_lowered.name: "text_pattern_ops"}).ddl_if(dialect="postgresql")
sort_indexes(Planet.host_star, Planet.planet_type, Planet.discovery_year,
             Planet.discovery_method, Planet.mass_earth, Planet.radius_earth,
             Planet.orbital_period_days, Planet.semi_major_axis_au, Planet.distance_ly,
             Planet.equilibrium_temp_k, Planet.updated_at)
# Names sort ignoring case, then by id (the console's list). SQLite's unique index on lower(name)
# holds the id as well; PostgreSQL's does not, and gets this one, with the name and the search
# text in it for index-only deep pages and searches (see ix_planets_listed).
Index("ix_planets_name_lower_id", func.lower(Planet.name), Planet.id,
      postgresql_include=["name", "search_text"]).ddl_if(dialect="postgresql")
# The catalog as the public pages and the API list it (archived ones left out), in name order:
# skipping rows on a deep page then reads only this index, not the table (console.paging reads a
# page's ids first). PostgreSQL scans an expression index alone only when it also holds the
# expression's columns, hence the name in it there; and the search text, so that a search read
# in name order checks each planet in the index (see PG_INDEX_FIRST).
_lowered_name = func.lower(Planet.name).label("lower_name")
Index("ix_planets_listed", _lowered_name, Planet.id, sqlite_where=text("archived = 0"),
      postgresql_where=text("NOT archived"), postgresql_include=["name", "search_text"])
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
    return _like(expression, f"{_escaped(prefix)}%", dialect)


# --- substring search -------------------------------------------------------------------------


# LIKE '%word%' on PostgreSQL: pg_trgm's trigrams of Planet.search_text, one index for every
# word of a search, so that several words are looked up in one scan of it; SQLite has a table
# of trigrams instead (see SEARCH_INDEX_DDL). The column's statistics (see _index_first) sample
# ten times the rows of the others, as migration 0017 sets them too.
Index("ix_planets_search_trgm", Planet.search_text, postgresql_using="gin",
      postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
SEARCH_STATISTICS = 1_000
event.listen(Planet.__table__, "after_create", DDL(
    f"ALTER TABLE planets ALTER COLUMN search_text SET STATISTICS {SEARCH_STATISTICS}"
).execute_if(dialect="postgresql"))

SUBSTRING_MIN = 3  # trigrams: the shortest text that the trigram indexes find
SEARCH_TABLE = "planets_search"  # SQLite's trigram index of names and host stars
# How SQLite reads the planets of a search (see _contain), by how many match its rarest word:
# up to FEW_MATCHES, either by the ids its trigram index gives, then sorted (about one row read
# per match, for each part of the list), or in the list's order, each row's id looked up among
# those ids (a page of 25 takes about 25 × planets / results entries of the sort index, each a
# fraction of a row's cost): the latter when matches × results (results estimated from a
# sample of SAMPLE matches) exceed INDEX_FIRST², where at a million planets the two cost the
# same (measured). Beyond FEW_MATCHES, in the list's order with the words as a filter (about as
# many rows as the latter, each read from the table). Each takes a few ms where it is chosen.
INDEX_FIRST = 2_000
FEW_MATCHES = 5_000
SAMPLE = 100
# PostgreSQL reads a search's matches from its trigram index, then sorts them, when its planner
# expects at most PG_INDEX_FIRST at a million planets (the bound grows with the square root of
# the catalog: reading R matches from the table against walking about page × planets / R
# entries of the name index, which holds the text searched, see ix_planets_listed). Of several
# words, it looks up in the index those it expects in at most PG_LOOKED_UP planets.
PG_INDEX_FIRST = 2_500
PG_LOOKED_UP = 10_000
# How long a process keeps either database's decision for a search's words (see _kept).
DECISION_SECONDS = 60
DECISIONS_KEPT = 1_000
_Decision = tuple[str, ...] | None  # PostgreSQL's (see _index_first)
_SqliteDecision = tuple[str, bool] | None  # SQLite's (see _rarest_word)
_decisions: weakref.WeakKeyDictionary[Engine, dict[tuple[Any, ...], tuple[float, Any]]] = \
    weakref.WeakKeyDictionary()
D = TypeVar("D")
_search_table = table(SEARCH_TABLE, column("rowid"))


def _prefix_only(words: list[str]) -> bool:
    """A search of short words only, which is a prefix search (see Planet.search)."""
    return not _long(words)


def _escaped(text: str) -> str:
    """`text` for a LIKE pattern with "/" as its escape character: %, _ and / match themselves."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _like(expression: ColumnElement[str], pattern: str, dialect: str) -> ColumnElement[bool]:
    """`expression` LIKE `pattern` (escaped by _escaped).

    On PostgreSQL the pattern is written into the statement: the best plan depends on how many
    rows it matches, which the planner estimates from the pattern; as a parameter, psycopg
    prepares a statement run five times and PostgreSQL may then plan it once for any pattern.
    (SQLAlchemy writes it as a quoted literal; the text of a search never becomes SQL.)"""
    value = bindparam(None, pattern, String, literal_execute=dialect == "postgresql")
    return expression.like(value, escape="/")


def _contain(words: list[str], dialect: str) -> ColumnElement[bool]:
    """Every word of three characters or more of `words` is in the name or the host star.

    PostgreSQL's planner, seeing the patterns, reads the trigram indexes for a rare word and
    the list's sort index with this as a filter (which stops after a page) for a common one.
    Of several words, a common one is a filter of the rows that the rarer ones find when those
    are few (see _read_first): the index holds a list of rows for each trigram of a word, and
    one of a word in a third of the planets is long to read.
    SQLite's planner cannot tell them apart, so its trigram index is first asked how many
    planets each word matches (up to FEW_MATCHES: a millisecond or two, once a minute, see
    _kept). If the rarest word matches that few, its ids come from the index and the other
    words filter them, and SQLite either reads those rows by id and sorts them, or ("id + 0"
    keeps it from looking the ids up) reads the list in its order and checks each id against
    them, whichever costs less (see INDEX_FIRST). If every word matches more, the words
    filter the list in its order. The forms agree but beyond ASCII, where SQLite's LIKE tells
    case apart and its trigram index does not.
    """
    long = _long(words)
    if dialect == "sqlite" and (decided := _kept(long, _rarest_word)) is not None:
        rarest, in_list_order = decided
        ids = Planet.id + 0 if in_list_order else Planet.id
        return and_(ids.in_(_indexed(rarest)), *_others(long, rarest))
    looked_up = (_read_first(long) or long) if dialect == "postgresql" and len(long) > 1 else long
    return and_(*(_in_name_or_host_star(word, dialect, indexed=word in looked_up)
                  for word in long))


def _starting(prefix: str, dialect: str) -> ColumnElement[bool]:
    """The name or the host star starts with `prefix`, from the lower(...) indexes; on SQLite,
    when more than FEW_MATCHES planets match, as a filter of the list in its order instead
    (LIKE, which no index of SQLite's serves), as _contain does for the same reason."""
    columns = (func.lower(Planet.name), func.lower(Planet.host_star))
    indexed = or_(*(starts_with(lowered, prefix, dialect) for lowered in columns))
    if dialect == "sqlite" and _counted(select(Planet.id).where(indexed)) > FEW_MATCHES:
        return or_(*(_like(lowered, f"{_escaped(prefix)}%", dialect) for lowered in columns))
    return indexed


def _rarest_word(words: list[str]) -> _SqliteDecision:
    """The word of `words` that SQLite's trigram index finds in the fewest planets, if in at
    most FEW_MATCHES, and whether to read the list in its order, checking each id against its
    matches, rather than read its matches by id and sort them (see _contain)."""
    found = {word: _indexed(word) for word in words}
    matches = {word: _counted(rows) for word, rows in found.items()}
    rarest = min(words, key=matches.__getitem__)
    if matches[rarest] > FEW_MATCHES:
        return None
    others = _others(words, rarest)
    sampled = min(SAMPLE, matches[rarest]) or 1
    kept = db.session.scalar(select(func.count()).where(
        Planet.id.in_(found[rarest].limit(SAMPLE)), *others)) if others else sampled
    results = matches[rarest] * kept / sampled
    return rarest, matches[rarest] * results > INDEX_FIRST**2


def _others(words: list[str], rarest: str) -> list[ColumnElement[bool]]:
    """The conditions on SQLite of the words but `rarest`, checked on the rows it finds."""
    return [_in_name_or_host_star(word, "sqlite") for word in words if word != rarest]


def _read_first(words: list[str]) -> _Decision:
    """_index_first for the long words of a search, kept (see _kept)."""
    return _kept(words, _index_first)


def _kept(words: list[str], decide: Callable[[list[str]], D]) -> D:
    """decide(words), kept for DECISION_SECONDS per database: what it rests on (PostgreSQL's
    estimates, which change when ANALYZE samples the table again; the counts of SQLite's
    index) moves slowly, and only the speed of a search depends on it, never its results.
    So paging through a search's results or sorting them decides once, not per page."""
    decisions = _decisions.setdefault(db.engine, {})
    key, now = (decide, *words), monotonic()
    decided = decisions.get(key)
    if decided is None or now - decided[0] > DECISION_SECONDS:
        if len(decisions) >= DECISIONS_KEPT:
            decisions.clear()
        decided = decisions[key] = (now, decide(words))
    return decided[1]


def _index_first(words: list[str]) -> _Decision:
    """Whether PostgreSQL's planner would read the planets that have every one of `words`
    from the trigram index, and expects few enough of them for that index to serve the list
    first (see PG_INDEX_FIRST): then the words to look up in it, those it expects in few
    planets (PG_LOOKED_UP; or all of them, when none is that rare), the others checked on the
    rows found; None when the planner would rather read the whole table (a word of common
    trigrams on a small table) or expects many matches: the walk in name order costs less
    then. One plan, no rows read, gives the estimates: of the matches and of each word's
    planets (from the column's statistics, SEARCH_STATISTICS), and of the planets. The
    statement goes as SQLAlchemy renders it for the driver, patterns written in (see _like)."""
    each = [_in_name_or_host_star(word, "postgresql") for word in words]
    plans = union_all(*(select(Planet.id).where(condition) for condition in [and_(*each), *each]),
                      select(Planet.id)).compile(
        db.engine, compile_kwargs={"render_postcompile": True})
    plan = db.session.connection().exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {plans}", plans.params).scalar_one()
    matches, *of_each, every = plan[0]["Plan"]["Plans"]

    def few(plan: dict[str, Any], bound: int) -> bool:
        return plan["Plan Rows"] ** 2 <= bound**2 * every["Plan Rows"] / 1_000_000

    if matches["Node Type"] != "Bitmap Heap Scan" or not few(matches, PG_INDEX_FIRST):
        return None
    return tuple(word for word, plan in zip(words, of_each, strict=True)
                 if few(plan, PG_LOOKED_UP)) or tuple(words)


def _counted(rows: Select[Any]) -> int:
    """How many rows `rows` gives, counted up to FEW_MATCHES + 1."""
    return db.session.scalar(select(func.count()).select_from(
        rows.limit(FEW_MATCHES + 1).subquery()))


def _indexed(word: str) -> Select[tuple[int]]:
    """The ids of the planets with `word` in their name or host star, from SQLite's trigram
    index; the word quoted as an FTS5 string, so that nothing typed is query syntax (AND,
    NEAR, *, ^, :)."""
    match = '"' + word.replace('"', '""') + '"'
    return select(_search_table.c.rowid).where(literal_column(SEARCH_TABLE).match(match))


def _long(words: list[str]) -> list[str]:
    """The words of a search that the trigram indexes find (three characters or more)."""
    return [word for word in words if len(word) >= SUBSTRING_MIN]


def _in_name_or_host_star(word: str, dialect: str, indexed: bool = True) -> ColumnElement[bool]:
    """`word` is in Planet.search_text; unless `indexed`, in a form no index holds, checked on
    each row that the other conditions find."""
    searched = Planet.search_text if indexed else _unindexed(Planet.search_text)
    return _like(searched, f"%{_escaped(word)}%", dialect)


def _unindexed(text: ColumnElement[str]) -> ColumnElement[str]:
    """The values of `text` in an expression that no index holds (text || ''), so that the
    planner reads them from the rows that other conditions find rather than from an index."""
    return type_coerce(text + literal_column("''", String), String)


def _starts_a_word(word: str, dialect: str) -> ColumnElement[bool]:
    """`word` starts the name, the host star (after the space of Planet.search_text) or one
    of their words (after a space or a hyphen); only ever a filter of the rows that the longer
    words find."""
    escaped = _escaped(word)
    return or_(*(_like(Planet.search_text, pattern, dialect)
                 for pattern in (f"{escaped}%", f"% {escaped}%", f"%-{escaped}%")))


# SQLite's trigram index of names and host stars: an FTS5 table with the trigram tokenizer over
# planets(name, host_star) that stores only the index (external content: the text stays in
# planets; columnsize=0: no text lengths, which only ranking uses), and triggers that keep it
# in step with every insert, update and delete, whichever path writes the row (`seed
# --synthetic` of a million rows takes 8 s more for them, 28 s). Migration 0012 creates the
# same. A migration that rebuilds the planets table on SQLite (batch mode) drops the triggers
# with it and must create them again (tests/test_planet_search.py compares them). A large CSV
# import drops the insert trigger and rebuilds the whole index once at its end instead
# (console/services/planets.py, _Reindex).
SEARCH_INSERT_TRIGGER = "planets_search_insert"
SEARCH_INSERT_TRIGGER_DDL = (
    "CREATE TRIGGER planets_search_insert AFTER INSERT ON planets BEGIN"
    " INSERT INTO planets_search (rowid, name, host_star)"
    " VALUES (new.id, new.name, new.host_star); END")
SEARCH_INDEX_REBUILD = "INSERT INTO planets_search (planets_search) VALUES ('rebuild')"
SEARCH_INDEX_DDL = (
    "CREATE VIRTUAL TABLE planets_search USING fts5(name, host_star, content='planets',"
    " content_rowid='id', tokenize='trigram', columnsize=0)",
    SEARCH_INSERT_TRIGGER_DDL,
    "CREATE TRIGGER planets_search_delete AFTER DELETE ON planets BEGIN"
    " INSERT INTO planets_search (planets_search, rowid, name, host_star)"
    " VALUES ('delete', old.id, old.name, old.host_star); END",
    "CREATE TRIGGER planets_search_update AFTER UPDATE OF name, host_star ON planets BEGIN"
    " INSERT INTO planets_search (planets_search, rowid, name, host_star)"
    " VALUES ('delete', old.id, old.name, old.host_star);"
    " INSERT INTO planets_search (rowid, name, host_star)"
    " VALUES (new.id, new.name, new.host_star); END",
)

# The same index for schemas built from the models (metadata.create_all).
for _statement in SEARCH_INDEX_DDL:
    event.listen(Planet.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
event.listen(Planet.__table__, "before_drop",
             DDL(f"DROP TABLE IF EXISTS {SEARCH_TABLE}").execute_if(dialect="sqlite"))
event.listen(Planet.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


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
