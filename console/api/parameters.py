"""The API's parameters: the planet id in paths, and the query of GET /api/planets, read and
checked once, then turned into SQL.

The OpenAPI document describes the parameters from the constants here, so the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Select, select

from console.errors import ApiError
from console.paging import CursorError, Ordering, Page, PageTooDeep, fetch_from, read_page
from models import MAX_ID, DiscoveryMethod, Planet, PlanetType, db

MAX_PLANET_ID = MAX_ID
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_PAGE = MAX_ID
MAX_YEAR = 9999
MAX_SEARCH_LENGTH = 100
DEFAULT_SORT = "name"

# Every sort key has an index; names sort ignoring case, like the unique index on lower(name).
SORT_COLUMNS = {
    "name": Planet.name_key(),
    "discovery_year": Planet.discovery_year,
    "mass_earth": Planet.mass_earth,
    "radius_earth": Planet.radius_earth,
    "orbital_period_days": Planet.orbital_period_days,
    "semi_major_axis_au": Planet.semi_major_axis_au,
    "distance_ly": Planet.distance_ly,
    "equilibrium_temp_k": Planet.equilibrium_temp_k,
    "updated_at": Planet.updated_at,
    "planet_type": Planet.planet_type,
    "discovery_method": Planet.discovery_method,
}
SORT_VALUES = [key for column in SORT_COLUMNS for key in (column, f"-{column}")]
PLANET_TYPES = [t.value for t in PlanetType]
ARCHIVED_VALUES = ["false", "true"]
DISCOVERY_METHODS = [m.value for m in DiscoveryMethod]


def _whole_number(raw: str, low: int, high: int) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))) or not (
            low <= int(raw) <= high):
        raise ValueError(f"must be a whole number from {low} to {high}")
    return int(raw)


def _choice(raw: str, choices: list[str]) -> str:
    if raw not in choices:
        raise ValueError(f"must be one of: {', '.join(choices)}")
    return raw


def _search_text(raw: str) -> str:
    if len(raw) > MAX_SEARCH_LENGTH:
        raise ValueError(f"must be at most {MAX_SEARCH_LENGTH} characters")
    if any(ord(char) < 32 for char in raw):
        raise ValueError("must not contain control characters")
    return raw.strip()


# How each parameter of the list is read: a ValueError's message says what is wrong with it.
READERS: dict[str, Callable[[str], Any]] = {
    "page": lambda raw: _whole_number(raw, 1, MAX_PAGE),
    "per_page": lambda raw: _whole_number(raw, 1, MAX_PER_PAGE),
    "type": lambda raw: _choice(raw, PLANET_TYPES),
    "method": lambda raw: _choice(raw, DISCOVERY_METHODS),
    "discovered_from": lambda raw: _whole_number(raw, 0, MAX_YEAR),
    "discovered_to": lambda raw: _whole_number(raw, 0, MAX_YEAR),
    "q": _search_text,
    "sort": lambda raw: _choice(raw, SORT_VALUES),
    "archived": lambda raw: _choice(raw, ARCHIVED_VALUES),
    "after": str,  # checked when the page is read (console.paging)
}


def read_parameters(args: Mapping[str, str], names: Iterable[str] = READERS,
                    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values of the parameters `names` found in `args`, and the messages of the bad ones
    (the catalog page reads some of them as the API does)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in names:
        if name not in args:
            continue
        try:
            values[name] = READERS[name](args[name])
        except ValueError as error:
            errors[name] = [str(error)]
    return values, errors


@dataclass(frozen=True)
class PlanetListQuery:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    type: str | None = None
    method: str | None = None
    discovered_from: int | None = None
    discovered_to: int | None = None
    q: str = ""
    sort: str | None = None  # none chosen: DEFAULT_SORT, for a search with its lead first
    archived: str = "false"  # "true" lists the archived planets instead
    after: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> PlanetListQuery:
        """The query of these request arguments; a 400 ApiError names every bad one."""
        values, errors = read_parameters(args)
        if errors:
            raise ApiError(400, "Some query parameters are not valid.", fields=errors)
        return cls(**values)

    @cached_property
    def ordering(self) -> Ordering:
        """The chosen sort; with none, by name, and for a search the names that start with
        what it looks for first (Planet.search_lead). Kept, as a search's order asks the
        database (Planet.search_key)."""
        dialect = db.engine.dialect.name
        if self.sort is None and self.q:
            return Ordering.on(dialect, "search", Planet.search_key(self.q, dialect), Planet.id,
                               lead=Planet.search_lead(self.q), lead_key=Planet.name_key(),
                               sorted_whole=Planet.search_sorted(self.q, dialect))
        sort = self.sort or DEFAULT_SORT
        return Ordering.on(dialect, sort, SORT_COLUMNS[sort.removeprefix("-")], Planet.id,
                           sort.startswith("-"))

    def statement(self) -> Select[tuple[Planet, Any, int]]:
        """The planets of this list, whole, as (planet, sort value, id) for console.paging."""
        query = select(Planet, self.ordering.key, Planet.id).where(
            Planet.archived == (self.archived == "true"))  # "= 1" uses ix_planets_archived
        if self.type:
            query = query.where(Planet.planet_type == self.type)
        if self.method:
            query = query.where(Planet.discovery_method == self.method)
        if self.discovered_from is not None:
            query = query.where(Planet.discovery_year >= self.discovered_from)
        if self.discovered_to is not None:
            query = query.where(Planet.discovery_year <= self.discovered_to)
        if self.q:
            query = query.where(Planet.search(self.q, db.engine.dialect.name))
        return query

    def read(self) -> Page[Planet]:
        """This page's planets, and the cursor of the next page; a 400 ApiError names a
        cursor of another list or a page number too deep."""
        try:
            return read_page(fetch_from(db.session, self.statement(), self.ordering.id),
                             self.ordering, self.per_page,
                             offset=(self.page - 1) * self.per_page, after=self.after)
        except (CursorError, PageTooDeep) as error:
            field = "after" if isinstance(error, CursorError) else "page"
            raise ApiError(400, "Some query parameters are not valid.",
                           fields={field: [str(error)]}) from None

    def args_for_next(self, cursor: str) -> dict[str, Any]:
        """The query string of the next page of the same list, without defaults or blanks."""
        defaults = asdict(PlanetListQuery())
        given = {**asdict(self), "page": self.page + 1, "after": cursor}
        return {name: value for name, value in given.items()
                if value != defaults[name] and value not in (None, "")}
