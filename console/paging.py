"""Long ordered lists, a page at a time, at the same cost at any depth.

A page by number is an OFFSET, which the database pays for row by row, so numbers reach only the
first MAX_OFFSET rows. Previous and next links carry a cursor instead: the sort value and id of
the row the page follows (keyset pagination), which the database finds in the sort column's
index however deep it lies, and which stays valid when that row is changed or deleted.

A list may be in two parts, each in the sort order: first the rows whose sort value starts with
some text (a search's results, names that start with it first), then the others. Each part is
read by a query of its own, so that each is served by the sort index and stops after a page.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, literal, not_
from sqlalchemy.orm import Session

from models import MAX_ID
from models.planets import starts_with

MAX_OFFSET = 10_000
MAX_CURSOR_LENGTH = 2_000
# Every integer column here (ids, years) is a 32-bit INTEGER: PostgreSQL refuses to compare one
# with a larger number, so a cursor holding one is not a cursor of this list.
MAX_INTEGER = MAX_ID

T = TypeVar("T")

# (conditions, order, limit, offset) -> up to `limit` rows (entity, sort value, id) of the list
# that meet every condition, in that order, skipping `offset`.
Fetch = Callable[[Sequence[ColumnElement[bool]], Sequence[ColumnElement[Any]], int, int],
                 Sequence[tuple[T, Any, int]]]


class PagingError(ValueError):
    """A page this list does not serve; the message says why."""


class CursorError(PagingError):
    """A cursor that this list did not make."""


class PageTooDeep(PagingError):
    """A page by number past the first MAX_OFFSET rows."""

    def __init__(self) -> None:
        super().__init__(f"pages by number reach the first {MAX_OFFSET:,} rows; follow the next "
                         "links for the ones after")


@dataclass(frozen=True)
class Position:
    """Where a row stands in the list: its sort value and its id."""

    value: Any
    id: int


@dataclass(frozen=True)
class Ordering:
    """A list's order: one sort expression, then the id to break ties, in the same direction.

    `name` identifies the order in its cursors, so a cursor of another order is refused.
    NULLs sort as the database puts them without being told: smallest on SQLite, largest on
    PostgreSQL; that is the order the plain column indexes hold.

    With `lead`, the rows whose key (text, never NULL) starts with it come first (the order's
    first part), then the others: `leading` is that test in SQL, and a position's part follows
    from its sort value by the same test in Python, so cursors need not say it. With
    `sorted_whole` the database sorts the rows of the list rather than read them in an
    index's order, so a page from an offset reads both parts in one statement, sorted by part
    first: a statement per part would find and sort the same rows twice.
    """

    name: str
    key: ColumnElement[Any]
    id: ColumnElement[int]
    descending: bool = False
    nulls_smallest: bool = True
    lead: str | None = None
    leading: ColumnElement[bool] | None = None
    sorted_whole: bool = False

    @classmethod
    def on(cls, dialect: str, name: str, key: ColumnElement[Any], id: ColumnElement[int],
           descending: bool = False, lead: str | None = None,
           lead_key: ColumnElement[Any] | None = None, sorted_whole: bool = False) -> Ordering:
        """`lead`: the rows whose key starts with it first (see the class), tested on
        `lead_key` when given: the same values as `key`, in the form an index holds."""
        leading = None if lead is None else starts_with(
            key if lead_key is None else lead_key, lead, dialect)
        return cls(name, key, id, descending, nulls_smallest=dialect != "postgresql",
                   lead=lead, leading=leading, sorted_whole=sorted_whole)

    def order_by(self) -> list[ColumnElement[Any]]:
        """The order within each part of the list (the whole list's, unless `lead`)."""
        if self.descending:
            return [self.key.desc(), self.id.desc()]
        return [self.key.asc(), self.id.asc()]

    def reversed(self) -> Ordering:
        return replace(self, descending=not self.descending)

    def parts(self) -> list[list[ColumnElement[bool]]]:
        """The conditions of each part of the list, in list order."""
        if self.leading is None:
            return [[]]
        first, rest = [self.leading], [not_(self.leading)]
        return [rest, first] if self.descending else [first, rest]

    def after(self, position: Position) -> list[ColumnElement[bool]]:
        """The rows after `position` as conditions that each seek the sort index, in list
        order: the rest of its run of equal values, the values beyond, the NULLs when they
        come last, and the parts of the list after its part. (One OR of these would make the
        database read from the start.)"""
        conditions = self._after_in_part(position)
        if self.leading is None:
            return conditions
        parts = self.parts()  # ascending: [leading, rest]; descending: [rest, leading]
        leads = isinstance(position.value, str) and position.value.startswith(self.lead)
        here = 1 if leads == self.descending else 0
        return [and_(*parts[here], condition) for condition in conditions] + [
            condition for part in parts[here + 1:] for condition in part]

    def _after_in_part(self, position: Position) -> list[ColumnElement[bool]]:
        later = operator.lt if self.descending else operator.gt
        nulls_first = self.nulls_smallest != self.descending
        key = self.key
        if position.value is None:
            rest = and_(key.is_(None), later(self.id, position.id))
            return [rest, key.is_not(None)] if nulls_first else [rest]
        value = literal(position.value, key.type)  # a bound value, booleans included
        rest = and_(key == value, later(self.id, position.id))
        beyond = later(key, value)
        return [rest, beyond] if nulls_first else [rest, beyond, key.is_(None)]

    def cursor(self, position: Position) -> str:
        value = position.value.isoformat() if isinstance(position.value, datetime) \
            else position.value
        payload = json.dumps([self.name, value, position.id], separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def position(self, cursor: str) -> Position:
        """The position a cursor of this order names; CursorError for anything else."""
        try:
            if len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError
            payload = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            name, value, row_id = json.loads(payload)
        except (ValueError, TypeError, binascii.Error, RecursionError):
            raise CursorError("is not a cursor of this list") from None
        if name != self.name:
            raise CursorError("belongs to another sort order; start again from the first page")
        if not _is_integer(row_id) or row_id < 1:
            raise CursorError("is not a cursor of this list")
        try:
            return Position(self._sort_value(value), row_id)
        except (ValueError, TypeError):
            raise CursorError("is not a cursor of this list") from None

    def _sort_value(self, value: Any) -> Any:
        """A cursor's sort value, checked against the type of the sort expression."""
        if value is None:
            return None
        kind = self.key.type.python_type
        if kind is bool and isinstance(value, bool):
            return value
        if kind is int and _is_integer(value):
            return value
        if kind is float and (_is_integer(value) or isinstance(value, float)) and \
                math.isfinite(value):
            return float(value)
        if kind is datetime and isinstance(value, str):
            return datetime.fromisoformat(value)
        if kind is str and isinstance(value, str) and "\x00" not in value:
            value.encode()  # a lone surrogate cannot be sent to the database
            return value
        raise ValueError(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_INTEGER


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the cursors of the pages before and after it (None at an
    end of the list)."""

    items: list[T]
    previous: str | None
    next: str | None


@dataclass(frozen=True)
class PagerLinks:
    previous: str | None
    next: str | None
    number: int  # the page's number as shown, from 1


def pager_links(page: Page[Any], number: int, url: Callable[..., str]) -> PagerLinks:
    """The previous and next links of `page`, shown as page `number`; `url(number, **cursor)`
    links a page by its shown number. A page with nothing before it is page 1, and the link
    to page 1 needs no cursor."""
    if page.previous is None:
        number = 1
    previous = None if page.previous is None else \
        url(1) if number == 2 else url(number - 1, before=page.previous)
    following = page.next and url(number + 1, after=page.next)
    return PagerLinks(previous, following, number)


def read_page(fetch: Fetch[T], ordering: Ordering, size: int, *, offset: int = 0,
              after: str | None = None, before: str | None = None) -> Page[T]:
    """`size` rows of the list: after the cursor `after`, before the cursor `before`, or else
    from `offset`. CursorError for a cursor of another list, PageTooDeep for an offset past
    MAX_OFFSET."""
    if before is not None:
        rows = _seek(fetch, ordering.reversed(), ordering.position(before), size + 1)[::-1]
        if len(rows) <= size:  # the start of the list: show the whole first page
            return read_page(fetch, ordering, size)
        more_before, more_after = True, True
        rows = rows[-size:]
    elif after is not None:
        rows = _seek(fetch, ordering, ordering.position(after), size + 1)
        more_before, more_after = True, len(rows) > size
        rows = rows[:size]
    elif offset >= MAX_OFFSET:
        raise PageTooDeep
    else:
        rows = _from_offset(fetch, ordering, offset, size + 1)
        more_before, more_after = offset > 0, len(rows) > size
        rows = rows[:size]
    if not rows:
        return Page([], None, None)
    first, last = (Position(value, row_id) for _, value, row_id in (rows[0], rows[-1]))
    return Page([entity for entity, _, _ in rows],
                ordering.cursor(first) if more_before else None,
                ordering.cursor(last) if more_after else None)


def _from_offset(fetch: Fetch[T], ordering: Ordering, offset: int,
                 limit: int) -> list[tuple[T, Any, int]]:
    """`limit` rows from `offset`, part after part; a part that ends before `offset` is
    counted (at most MAX_OFFSET rows) to know where in the next one the page starts."""
    if ordering.sorted_whole and (leading := ordering.leading) is not None:
        later_part = leading if ordering.descending else not_(leading)  # false sorts first
        return list(fetch([], [later_part, *ordering.order_by()], limit, offset))
    rows: list[tuple[T, Any, int]] = []
    parts = ordering.parts()
    for number, conditions in enumerate(parts):
        found = list(fetch(conditions, ordering.order_by(), limit - len(rows), offset))
        if offset and not found and number + 1 < len(parts):
            offset -= len(fetch(conditions, ordering.order_by(), offset, 0))
            continue
        rows.extend(found)
        offset = 0
        if len(rows) >= limit:
            break
    return rows


def _seek(fetch: Fetch[T], ordering: Ordering, position: Position,
          limit: int) -> list[tuple[T, Any, int]]:
    rows: list[tuple[T, Any, int]] = []
    for condition in ordering.after(position):
        rows.extend(fetch([condition], ordering.order_by(), limit - len(rows), 0))
        if len(rows) >= limit:
            break
    return rows


def fetch_from(session: Session, statement: Select[Any],
               row_id: ColumnElement[int]) -> Fetch[Any]:
    """The Fetch of a list whose `statement` selects (entity, sort value, id), `row_id` being
    that id's column (the list's Ordering.id).

    A page from an offset finds its ids first, then reads their rows: the rows it skips are
    read from the sort index alone (on PostgreSQL an index-only scan, see ix_planets_listed)
    instead of each being fetched from the table. On PostgreSQL so does every page with
    conditions: a search read in name order checks each planet in the index alone (which
    holds the text searched), and one read from the trigram index sorts ids, not whole rows.
    The first page of a whole list is the sort index's first rows, read in one statement (on
    PostgreSQL 1k planets, a tenth of the console's list page less than by ids first, the
    planner joining the ids to a scan of the table). SQLite reads the rows it checks from the
    table either way, and a page 1 costs it less in one statement."""
    ids_first = session.get_bind().dialect.name == "postgresql"

    def fetch(conditions: Sequence[ColumnElement[bool]], order: Sequence[ColumnElement[Any]],
              limit: int, offset: int) -> Sequence[tuple[Any, Any, int]]:
        query = statement.where(*conditions).order_by(*order).limit(limit)
        if offset or (ids_first and query.whereclause is not None):
            page_ids = query.with_only_columns(row_id, maintain_column_froms=True).offset(
                offset or None)
            query = statement.where(row_id.in_(page_ids)).order_by(*order)
        return session.execute(query).all()

    return fetch
