"""One JSON object per line per request on the `console.requests` logger, and never a secret;
`make serve` (gunicorn) reads .env and .flaskenv as the flask command does.

The tests read what is written to the process's standard error (file descriptor 2), not the
log records, so a formatter or a second handler that wraps the line fails them."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from tests.conftest import PASSWORD, PLANET, bearer
from tests.network import free_port

LOGGER = "console.requests"
FIELDS = {"method", "path", "status", "duration_ms", "user_id", "remote_addr", "time", "level"}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def flask_default_handler(app):
    """Flask's own handler on app.logger ("console"), as in production. Flask adds it only when
    no other handler would take the app's records; under pytest, pytest's log capture would, so
    without this fixture a request line that propagated to it would go unnoticed."""
    added = default_handler not in app.logger.handlers
    if added:
        app.logger.addHandler(default_handler)
    yield
    if added:
        app.logger.removeHandler(default_handler)


@pytest.fixture
def stderr(capfd):
    """stderr.lines() -> every line written to standard error since the last call, each parsed
    with json.loads (a line that is not one JSON object fails the test)."""

    class Stderr:
        def lines(self) -> list[dict]:
            text = capfd.readouterr().err
            parsed = [json.loads(line) for line in text.splitlines()]
            assert all(isinstance(line, dict) for line in parsed), text
            return parsed

        def text(self) -> str:
            return capfd.readouterr().err

    return Stderr()


def test_the_request_log_has_its_json_handler_and_does_not_propagate(app):
    logger = logging.getLogger(LOGGER)
    assert not logger.propagate  # else Flask's handler on "console" writes it again, wrapped
    # One JSON handler however many apps were built (pytest adds its capture handlers too).
    assert len([h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]) == 1
    assert logger.isEnabledFor(logging.INFO)


def test_each_request_is_one_json_line_with_method_path_status_duration_user_and_address(
        stderr, login_as):
    client, user = login_as("viewer")
    stderr.lines()
    client.get("/planets?q=kepler&page=2")
    [line] = stderr.lines()
    assert line.keys() == FIELDS
    assert (line["method"], line["path"], line["status"]) == ("GET", "/planets", 200)
    assert (line["user_id"], line["remote_addr"]) == (user.id, "127.0.0.1")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO"
    logged_at = datetime.fromisoformat(line["time"])
    assert logged_at.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - logged_at).total_seconds()) < 60


def test_anonymous_request_is_logged_without_a_user(stderr, client):
    client.get("/missing-page")
    [line] = stderr.lines()
    assert (line["path"], line["status"], line["user_id"]) == ("/missing-page", 404, None)


def test_request_refused_by_the_login_rate_limit_is_logged(stderr, auth, make_user, mailbox):
    """(The lockout mails ada over SMTP, which logs nothing when it works; without a mail
    server the development .eml line would be on standard error too.)"""
    make_user("ada")
    for _ in range(5):
        auth.login("ada", "wrong password!")
    stderr.lines()
    assert auth.login("ada", "wrong password!").status_code == 429
    [line] = stderr.lines()
    assert (line["method"], line["path"], line["status"]) == ("POST", "/login", 429)
    assert line["duration_ms"] is not None


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXY_HOPS": 1}])
def test_request_log_shows_the_client_address_behind_a_trusted_proxy(stderr, client):
    client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    [line] = stderr.lines()
    assert line["remote_addr"] == "203.0.113.9"


def test_request_log_never_holds_passwords_tokens_cookies_or_query_strings(
        stderr, auth, client, make_user, make_token):
    editor = make_user("ada", role="editor")
    secret = make_token(editor)
    stderr.lines()
    auth.login("ada", PASSWORD, remember=True)
    client.get("/account?token=query-secret")
    client.post("/api/planets", json=PLANET, headers=bearer(secret))
    cookies = [client.get_cookie(name).value for name in ("session", "remember_token")]
    text = stderr.text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line.keys() for line in lines] == [FIELDS] * 3
    for leak in [PASSWORD, secret, "query-secret", "Bearer", "Authorization", *cookies]:
        assert leak not in text


# make serve: gunicorn, the production entry point, started for real on loopback.

START_TIMEOUT = 30


def _make_serve(directory: Path, log: Path, **variables: str) -> subprocess.Popen:
    """`make serve` of this project, run in `directory` (where it looks for .env), with this
    interpreter's virtual environment and without reinstalling it."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = sys.prefix
    environment = {k: v for k, v in os.environ.items()
                   if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "FLASK_SKIP_DOTENV",
                                "TRUSTED_HOSTS", "GUNICORN_CMD_ARGS"}}
    environment.update({
        "API_RATE_LIMIT": "9 per minute",  # the environment wins over both files
        "GUNICORN_CMD_ARGS": "--no-control-socket",
    })
    command = ["make", "--no-print-directory", "-f", str(PROJECT_ROOT / "Makefile"),
               "-o", f"{venv}/.installed", "serve", f"VENV={venv}",
               *(f"{name}={value}" for name, value in variables.items())]
    with log.open("w") as stream:
        return subprocess.Popen(command, cwd=directory, env=environment, stdout=stream,
                                stderr=stream, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group of make and the gunicorn it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=5)


def _wait_until_serving(process: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make serve exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            _get(f"{base}/healthz")
            return
        except requests.RequestException:  # not listening yet, or the worker is still booting
            time.sleep(0.2)
    pytest.fail(f"make serve did not answer within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def test_make_serve_reads_env_and_flaskenv_and_logs_one_json_object_per_request(tmp_path):
    """make serve in a directory of its own, on a SQLite file named only in its .env (whatever
    database the rest of the suite uses): the migrations, the check and gunicorn all see it."""
    database = tmp_path / "served.db"
    # .env beats .flaskenv, the environment beats both (as for the flask command); the check
    # of make serve must find DATABASE_URL in .env, RATELIMIT_STORAGE_URI and JOB_QUEUE_URL in
    # .flaskenv.
    (tmp_path / ".flaskenv").write_text(
        "RATELIMIT_STORAGE_URI=memory://\nTRUSTED_PROXY_HOPS=0\nAPI_RATE_LIMIT=2 per minute\n"
        f"JOB_QUEUE_URL=sqlite:///{tmp_path / 'jobs.sqlite3'}\n")
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{database}\n"
        "SECRET_KEY=env-file-secret-key-0123456789-abcdefghij\n"
        "TRUSTED_PROXY_HOPS=1\n"
        'API_RATE_LIMIT="3 per minute"\n')
    port, log = free_port(), tmp_path / "serve.log"
    process = _make_serve(tmp_path, log, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, base, log)
        assert _get(f"{base}/healthz?probe=1", **{"X-Forwarded-For": "203.0.113.9"}).ok
        answer = _get(f"{base}/api/planets")
        assert answer.status_code == 200
        assert answer.headers["X-RateLimit-Limit"] == "9"
    finally:
        _stop(process)
    output = log.read_text()
    assert database.exists()  # migrated by make serve's `flask db upgrade`, from .env's URL
    # Request lines are JSON objects, never wrapped by Flask's "[time] INFO in request_log: ".
    request_lines = [json.loads(line) for line in output.splitlines()
                     if "request_log" in line or '"path"' in line]
    probe = [line for line in request_lines if line.get("remote_addr") == "203.0.113.9"]
    assert [(line["path"], line["status"]) for line in probe] == [("/healthz", 200)], output
    assert all(line.keys() == FIELDS for line in request_lines), output
    assert "probe" not in "".join(json.dumps(line) for line in request_lines)


def test_make_serve_refuses_to_start_without_the_rate_limit_storage(tmp_path):
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'never.db'}\n")
    log = tmp_path / "serve.log"
    process = _make_serve(tmp_path, log, PORT=str(free_port()))
    try:
        assert process.wait(timeout=START_TIMEOUT) != 0
    finally:
        _stop(process)
    assert ("make serve needs DATABASE_URL, RATELIMIT_STORAGE_URI and JOB_QUEUE_URL"
            in log.read_text())
    assert not (tmp_path / "never.db").exists()


def test_the_development_servers_access_log_leaves_out_query_strings(app, caplog):
    """`flask run` (make run) logs each request line through werkzeug; a reset link's token
    in the query string stays out of it."""
    import contextlib
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            url = f"http://127.0.0.1:{server.server_port}/reset-password?token=s3cret-token"
            with contextlib.suppress(urllib.error.HTTPError):  # the link is not valid: 400
                urllib.request.urlopen(url, timeout=5)  # noqa: S310
            server.shutdown()
    finally:
        thread.join(timeout=5)
    assert "GET /reset-password HTTP/1.1" in caplog.text
    assert "s3cret-token" not in caplog.text
