"""Two real app servers (gunicorn) on one PostgreSQL schema and one Redis behave as one
console: sessions, login rate limits and data are shared; nothing lives in a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from models import Role
from tests.conftest import ENVIRONMENT_SETTINGS, PASSWORD, PLANET, bearer, csrf_token_from
from tests.network import free_port

pytestmark = pytest.mark.servers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT = 30
TIMEOUT = 10


def _server_environment(database_url: str, smtp_port: int) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_SETTINGS}
    return {
        **inherited,
        "CONSOLE_ENV": "development",
        "SECRET_KEY": f"two-servers-{uuid.uuid4().hex}",
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # counters of this run only
        "LOGIN_RATE_LIMIT": "5 per minute",
        "JOB_QUEUE_URL": REDIS_URL,
        "JOB_QUEUE_NAME": f"test-{uuid.uuid4().hex}",  # the jobs of this run only
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
    }


def _wait_until_serving(process: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server at {base} exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or the worker is still booting
            pass
        time.sleep(0.2)
    pytest.fail(f"the server at {base} did not answer within {START_TIMEOUT} s:\n"
                f"{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def servers(database_url: str, tmp_path_factory, smtp_server) -> Iterator[tuple[str, str]]:
    """The base URLs of two gunicorn servers of the console, sharing everything but memory,
    and a job worker in a process of its own, all on one Redis; mail goes to the tests' SMTP
    server.

    Tests take the `app` fixture too, which empties the tables after each test."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two app servers need PostgreSQL: set TEST_DATABASE_URL")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("two app servers need Redis answering at 127.0.0.1:6379")
    environment = _server_environment(database_url, smtp_server.port)
    processes: list[subprocess.Popen] = []
    try:
        started = []
        for name in ("a", "b"):
            port, log = free_port(), tmp_path_factory.mktemp("servers") / f"{name}.log"
            with log.open("w") as stream:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "--workers", "1", "--no-control-socket",
                     "--bind", f"127.0.0.1:{port}", "console:create_app()"],
                    cwd=PROJECT_ROOT, env=environment, stdout=stream, stderr=stream,
                ))
            started.append((f"http://127.0.0.1:{port}", log))
        for process, (base, log) in zip(processes, started, strict=True):
            _wait_until_serving(process, base, log)
        with (tmp_path_factory.mktemp("servers") / "worker.log").open("w") as stream:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "console", "worker"],
                cwd=PROJECT_ROOT, env=environment, stdout=stream, stderr=stream))
        yield started[0][0], started[1][0]
    finally:
        for process in processes:
            _stop(process)


def _csrf(browser: requests.Session, url: str) -> str:
    return csrf_token_from(browser.get(url, timeout=TIMEOUT).text)


def test_a_session_and_a_registration_made_on_one_server_hold_on_the_other(servers, app):
    a, b = servers
    browser = requests.Session()  # one cookie jar: cookies for 127.0.0.1 go to either port
    response = browser.post(f"{a}/register", timeout=TIMEOUT, allow_redirects=False, data={
        "csrf_token": _csrf(browser, f"{a}/register"), "username": "ada_l",
        "email": "ada@example.com", "password": "analytical-engine",
        "confirm": "analytical-engine"})
    assert response.status_code == 200 and "Check your inbox" in response.text
    login = browser.post(f"{b}/login", timeout=TIMEOUT, allow_redirects=False, data={
        "csrf_token": _csrf(browser, f"{b}/login"), "username": "ada_l",
        "password": "analytical-engine"})
    assert login.status_code == 302
    account = browser.get(f"{a}/account", timeout=TIMEOUT, allow_redirects=False)
    assert account.status_code == 200 and "ada@example.com" in account.text


def test_a_logout_on_one_server_ends_the_session_on_the_other(servers, app, make_user):
    a, b = servers
    make_user("ada")
    browser = requests.Session()
    response = browser.post(f"{a}/login", timeout=TIMEOUT, allow_redirects=False, data={
        "csrf_token": _csrf(browser, f"{a}/login"), "username": "ada", "password": PASSWORD,
        "remember": "y"})
    assert response.status_code == 302
    copy = requests.Session()
    copy.cookies.update(browser.cookies)  # the session and remember-me cookies, stolen
    assert copy.get(f"{a}/account", timeout=TIMEOUT, allow_redirects=False).status_code == 200
    browser.post(f"{b}/logout", timeout=TIMEOUT, data={"csrf_token": _csrf(browser, f"{b}/")})
    for base in (a, b):
        assert copy.get(f"{base}/account", timeout=TIMEOUT,
                        allow_redirects=False).status_code == 302


def test_a_mail_queued_through_one_server_is_sent_by_the_worker(servers, app, make_user,
                                                                mailbox):
    a, _ = servers
    make_user("ada")
    browser = requests.Session()
    response = browser.post(f"{a}/forgot-password", timeout=TIMEOUT, data={
        "csrf_token": _csrf(browser, f"{a}/forgot-password"), "email": "ada@example.com"})
    assert response.status_code == 200 and "Check your inbox" in response.text
    message = mailbox.wait_for("ada@example.com", "Reset your password")
    assert f"{a}/reset-password?token=" in message.get_body(("plain",)).get_content()


def test_a_planet_created_through_one_server_is_served_by_the_other(servers, make_user,
                                                                    make_token):
    a, b = servers
    secret = make_token(make_user("eddie", role=Role.EDITOR))
    created = requests.post(f"{b}/api/planets", json=PLANET, headers=bearer(secret),
                            timeout=TIMEOUT)
    assert created.status_code == 201
    served = requests.get(f"{a}/api/planets/{created.json()['id']}", timeout=TIMEOUT)
    assert served.status_code == 200 and served.json()["name"] == PLANET["name"]


def test_failed_logins_count_across_both_servers(servers, make_user):
    a, b = servers
    make_user("ada")
    browser = requests.Session()
    token = _csrf(browser, f"{a}/login")

    def fail(base: str) -> int:
        return browser.post(f"{base}/login", timeout=TIMEOUT, data={
            "csrf_token": token, "username": "ada", "password": "wrong password!"}).status_code

    assert [fail(a), fail(a), fail(a), fail(b), fail(b)] == [200] * 5
    assert (fail(a), fail(b)) == (429, 429)
