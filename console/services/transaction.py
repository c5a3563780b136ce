"""Committing a service's change: a race lost to another request ends in a DomainError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from models import db
from models.errors import DomainError, Refusal

CHANGED_MEANWHILE = ("this record was changed or deleted by someone else meanwhile; nothing "
                     "was saved, reload it and try again")


@contextmanager
def committed(conflict: DomainError | Callable[[], DomainError] | None = None, *,
              commit: bool = True) -> Iterator[None]:
    """Commit what the block changes, all or nothing. A unique index or foreign key that
    refuses it (another request stored the same name first, or used the row being deleted)
    raises `conflict` (called after the rollback when it is a function); a row whose version
    another request changed meanwhile raises a conflict about the "id". With `commit` False
    the change is only flushed, for the caller to commit with its own (a job's end)."""
    try:
        yield
        db.session.commit() if commit else db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if conflict is None:
            raise  # no race can cause it: a bug, for the log
        raise (conflict() if callable(conflict) else conflict) from None
    except StaleDataError:
        db.session.rollback()
        raise DomainError.about("id", CHANGED_MEANWHILE, Refusal.CONFLICT) from None
