"""Deep pages of long ordered lists without reading every skipped row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

# Below this offset a plain OFFSET is as cheap as anything else.
DEFERRED_FROM = 2000


def page_of(statement: Select[Any], id_column: Any, offset: int, limit: int) -> Select[Any]:
    """`limit` rows of an ordered `statement` from `offset` on.

    Deep down, the database skips rows through an id-only subquery (answered from the index
    that orders it) and reads whole rows only for the page: a "deferred join".
    """
    if offset < DEFERRED_FROM:
        return statement.offset(offset).limit(limit)
    page_ids = statement.with_only_columns(id_column).offset(offset).limit(limit).subquery()
    return statement.where(id_column.in_(select(page_ids.c[0])))
