"""While PostgreSQL cannot be reached, pages, the API and /healthz answer a clean 503; the app
recovers on its own when the database is back. The outage is simulated on loopback (a closed
port, a proxy that is cut), never by stopping the real server. A pooled connection is tested
before a request uses it when it has been idle a while (console/pool_ping.py), not every time."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from console import create_app, pool_ping
from models import db
from tests.conftest import PLANET, AuthActions, _test_config, bearer
from tests.network import free_port

UNAVAILABLE = b"The service is temporarily unavailable. Please try again shortly."
LEAKS = (b"Traceback", b"OperationalError", b"psycopg", b"connection", b"5432")


class DatabaseLink:
    """A loopback TCP proxy in front of PostgreSQL that a test cuts and restores, as if the
    database server went away (dropping every open connection) and came back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        for sock in filter(None, [self._listener, *self._sockets]):
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
            sock.close()
        self._listener, self._sockets = None, []

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                return
            server.settimeout(None)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the link was cut
            while data := source.recv(65536):
                sink.sendall(data)


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("database-down tests need PostgreSQL: set TEST_DATABASE_URL")
    return database_url


def _app_at(url: str, port: int, tmp_path) -> Flask:
    """An app like the suite's, whose database is at `port` on loopback."""
    moved = make_url(url).set(host="127.0.0.1", port=port)
    return create_app(_test_config(moved.render_as_string(hide_password=False)),
                      instance_path=str(tmp_path))


@pytest.fixture
def link(postgres_url: str) -> Iterator[DatabaseLink]:
    target = make_url(postgres_url)
    link = DatabaseLink(target.host or "127.0.0.1", target.port or 5432)
    link.up()
    yield link
    link.down()


@pytest.fixture
def unreachable_app(postgres_url: str, tmp_path) -> Flask:
    return _app_at(postgres_url, free_port(), tmp_path / "unreachable")


def _assert_friendly_503(response) -> None:
    assert response.status_code == 503
    assert UNAVAILABLE in response.data
    assert not any(leak in response.data for leak in LEAKS)


@pytest.mark.parametrize("path", ["/planets", "/planets/1", "/api/planets", "/api/planets/1"])
def test_pages_and_api_answer_503_while_the_database_is_unreachable(unreachable_app, path):
    response = unreachable_app.test_client().get(path)
    _assert_friendly_503(response)
    if path.startswith("/api/"):
        assert response.json["error"]["status"] == 503
    else:
        assert b"Back to the start page" in response.data  # the product's error page


@pytest.mark.parametrize("path", ["/", "/admin/planet/", "/account"])
def test_logged_in_user_gets_the_error_page_rendered_as_for_a_visitor(
        app, unreachable_app, make_user, path):
    """The session's user cannot be loaded, and the error page does not try again."""
    make_user("ada", role="admin")
    working = app.test_client()
    AuthActions(working).login("ada")
    client = unreachable_app.test_client()
    client.set_cookie("session", working.get_cookie("session").value)
    response = client.get(path)
    _assert_friendly_503(response)
    assert b"Log in" in response.data and b"ada" not in response.data


def test_api_write_answers_503_while_the_database_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().post("/api/planets", json=PLANET,
                                                  headers=bearer("any-token"))
    _assert_friendly_503(response)
    assert response.json["error"]["status"] == 503


def test_healthz_is_unavailable_while_the_database_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert (response.status_code, response.json) == (503, {"status": "unavailable"})


def test_app_recovers_when_the_database_comes_back(app, make_user, postgres_url, link,
                                                   tmp_path):
    make_user("ada")
    proxied = _app_at(postgres_url, link.port, tmp_path / "proxied")
    client = proxied.test_client()
    try:
        assert AuthActions(client).login("ada").status_code == 302
        assert b"Welcome, ada!" in client.get("/").data

        link.down()  # every pooled connection dies; new ones are refused
        _assert_friendly_503(client.get("/"))
        _assert_friendly_503(client.get("/api/planets"))
        assert client.get("/healthz").status_code == 503

        link.up()
        assert client.get("/healthz").json == {"status": "ok"}
        response = client.get("/")
        assert response.status_code == 200 and b"Welcome, ada!" in response.data
        assert client.get("/api/planets").status_code == 200
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_a_connection_that_died_while_idle_is_replaced_before_a_request_uses_it(
        app, make_user, postgres_url, link, tmp_path, monkeypatch):
    make_user("ada")
    proxied = _app_at(postgres_url, link.port, tmp_path / "proxied")
    client = proxied.test_client()
    try:
        assert AuthActions(client).login("ada").status_code == 302
        link.down()  # the pooled connection dies while it is idle...
        link.up()  # ...and the database is back before the next request
        monkeypatch.setattr(pool_ping, "IDLE_SECONDS_BEFORE_PING", 0.0)
        response = client.get("/")
        assert response.status_code == 200 and b"Welcome, ada!" in response.data
    finally:
        with proxied.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(("idle_seconds_before_ping", "pings"), [(0.0, 1), (3600.0, 0)])
def test_only_a_connection_idle_longer_than_the_threshold_is_pinged(
        app, monkeypatch, idle_seconds_before_ping, pings):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # a connection, now back in the pool
    with app.app_context():
        dialect = db.engine.dialect
    calls = []
    monkeypatch.setattr(dialect, "do_ping", lambda connection: calls.append(connection) or True)
    monkeypatch.setattr(pool_ping, "IDLE_SECONDS_BEFORE_PING", idle_seconds_before_ping)
    assert client.get("/healthz").status_code == 200
    assert len(calls) == pings
