"""A real console server for the browser tests and the screenshots.

It runs on a private SQLite file, or, when TEST_DATABASE_URL names a PostgreSQL database (CI's
second pass), on a private schema of it that is dropped afterwards, so the journeys run on both
databases. The database is built the way an operator builds one: `flask db upgrade`, `flask seed`
and `flask create-user --password-stdin`, then `flask run` serves it on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from tests.databases import private_database
from tests.network import free_port
from tests.smtp import Mailbox, running_smtp_server

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Orbital-passphrase-42"
# username -> role; the members with pending applications are there for the admin's review.
FIRST_ADMIN = "root"
USERS = {"ada": "admin", "vera": "viewer", "marta": "member", "pilot": "member",
         "sam": "member", "rita": "member", "tessa": "editor", "nadia": "editor"}
IMPORT_JOB_THRESHOLD = 100_000  # bytes: a larger CSV file is imported by a job
REVIEWED_APPLICATIONS = [("pilot", "Proxima Centauri b"), ("pilot", "TRAPPIST-1 e")]
# Settings of the developer's shell (or of CI's PostgreSQL pass) that must not reach the server.
DROPPED_SETTINGS = ("TEST_DATABASE_URL", "DATABASE_URL", "CONSOLE_ENV", "SECRET_KEY",
                    "RATELIMIT_STORAGE_URI", "RATELIMIT_KEY_PREFIX", "LOGIN_RATE_LIMIT",
                    "REMEMBER_DAYS", "API_RATE_LIMIT", "API_WRITE_RATE_LIMIT",
                    "TRUSTED_PROXY_HOPS", "FLASK_DEBUG", "FLASK_RUN_PORT", "FLASK_RUN_HOST",
                    # its mail goes to the loopback SMTP server of running_server()
                    "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL",
                    "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER",
                    "SESSION_IDLE_MINUTES", "SESSION_LIFETIME_DAYS", "STAFF_TWO_FACTOR",
                    "TWO_FACTOR_RATE_LIMIT", "JOB_QUEUE_URL", "JOB_QUEUE_NAME", "JOB_RETRIES",
                    "JOB_LEASE_SECONDS", "IMPORT_JOB_THRESHOLD", "IMPORT_MAX_MB",
                    "RESET_RATE_LIMIT", "CONFIRM_RATE_LIMIT")


@dataclass
class Server:
    url: str
    database_url: str
    log: Path
    first_admin_password: str  # printed once by `flask ensure-admin`, as `make run` does
    mailbox: Mailbox  # what the server sent, as a loopback SMTP server received it


def _environment(database_url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_SETTINGS}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="browser-tests-secret-key-0123456789-abcdefghij",
        CONSOLE_ENV="development",
        RATELIMIT_STORAGE_URI="memory://",
        LOGIN_RATE_LIMIT="1000 per minute",
        # The journeys register more accounts from 127.0.0.1 than an hour allows a person.
        REGISTER_RATE_LIMIT="1000 per hour",
        PYTHONUNBUFFERED="1",
        FLASK_APP="console",
    )
    return env


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "console", *args],
                            cwd=PROJECT_ROOT, env=env, input=stdin, capture_output=True,
                            text=True, timeout=120, check=False)
    if result.returncode:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _seed_and_create_users(env: dict[str, str]) -> None:
    """`flask seed` and `flask create-user` for each account, in parallel (each command is
    mostly a process start)."""
    processes = [("seed", subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "console", "seed"], cwd=PROJECT_ROOT, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))]
    for username, role in USERS.items():
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "console", "create-user", username,
             f"{username}@example.com", "--role", role, "--password-stdin"],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        processes.append((username, process))
    for name, process in processes:
        output, _ = process.communicate("" if name == "seed" else PASSWORD + "\n", timeout=120)
        if process.returncode:
            raise RuntimeError(f"flask {name} failed:\n{output}")


def _add_pending_applications(env: dict[str, str], instance: Path) -> None:
    """Applications for the admin to review; arranged directly, they are not a journey."""
    with mock.patch.dict(os.environ, env, clear=True):
        _submit_applications(env["DATABASE_URL"], instance)


def _submit_applications(database_url: str, instance: Path) -> None:
    from console import create_app
    from console.services.applications import submit
    from models import Planet, User, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url,
                      "SECRET_KEY": "browser-tests-secret-key-0123456789-abcdefghij"},
                     instance_path=str(instance))
    with app.app_context():
        for username, planet_name in REVIEWED_APPLICATIONS:
            applicant = db.session.scalar(db.select(User).filter_by(username=username))
            planet = Planet.find_by_name(planet_name)
            submit(applicant, planet, f"{username} wants to see {planet_name}.")
        db.session.commit()
        db.engine.dispose()


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within 30 s:\n{log.read_text()}")


@contextmanager
def running_server(workdir: Path) -> Iterator[Server]:
    """A migrated, seeded database with the USERS, served by `flask run` until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    with private_database(workdir, "browser") as database_url, \
            running_smtp_server() as smtp:
        smtp.mailbox = Mailbox(smtp.port)
        yield from _serve(workdir, database_url, smtp.mailbox)


def _serve(workdir: Path, database_url: str, mailbox: Mailbox) -> Iterator[Server]:
    """`flask run` and `flask worker` (the mails are jobs), as `make run` starts them."""
    instance = workdir / "instance"
    instance.mkdir(exist_ok=True)
    env = _environment(database_url, instance)
    env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(mailbox.settings["MAIL_PORT"]),
               JOB_QUEUE_URL=f"sqlite:///{workdir / 'jobs.sqlite3'}",
               IMPORT_JOB_THRESHOLD=str(IMPORT_JOB_THRESHOLD))
    _flask(env, "db", "upgrade")
    first_admin = _flask(env, "ensure-admin", "--username", FIRST_ADMIN,
                         "--email", f"{FIRST_ADMIN}@example.com")
    _seed_and_create_users(env)
    _add_pending_applications(env, instance)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    with log.open("w") as log_file:
        processes = [subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "console", *command],
            cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            for command in (["run", "--host", "127.0.0.1", "--port", str(port), "--no-reload",
                             "--no-debugger"], ["worker"])]
    try:
        _wait_until_serving(url, processes[0], log)
        yield Server(url=url, database_url=database_url, log=log,
                     first_admin_password=re.search(r"password: (\S+)", first_admin)[1],
                     mailbox=mailbox)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
