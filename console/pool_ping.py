"""Connections that may have died while idle in the pool are tested before a request uses them.

SQLAlchemy's `pool_pre_ping` asks the database "are you there?" at every checkout: one more
round trip on every request, a good part of a PostgreSQL page's time in the database. A
connection handed back to the pool a moment ago is alive, bar a server restart within that
moment, which fails the requests in flight anyway. So only a connection idle in the pool for
longer than IDLE_SECONDS_BEFORE_PING is pinged: one that a restart, an idle timeout or a
dropped network path may have closed. A dead one is replaced, and the pool's other connections
of its time with it (as pre-ping does), before the request sees it."""

from __future__ import annotations

from time import monotonic

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

IDLE_SECONDS_BEFORE_PING = 1.0
_RETURNED_AT = "console.returned_at"  # in a pooled connection's info


def ping_idle_connections(engine: Engine) -> None:
    """Have `engine`'s pool ping a connection at checkout when it has been idle a while."""
    dialect = engine.dialect

    def returned(dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = monotonic()

    def checked_out(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.pop(_RETURNED_AT, None)  # none for a new connection
        if returned_at is None or monotonic() - returned_at <= IDLE_SECONDS_BEFORE_PING:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool reconnects and tries again, after invalidating the connections
                # opened before now.
                raise exc.InvalidatePoolError() from error
            raise

    event.listen(engine.pool, "checkin", returned)
    event.listen(engine.pool, "checkout", checked_out)
