"""Fixtures: a migrated database per run (SQLite file, or a private PostgreSQL schema), an app
per test, clients, a CLI runner, user factories and login helpers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import FileSystemBytecodeCache
from werkzeug.security import generate_password_hash

from console import create_app
from console.services import accounts
from models import ApiToken, Planet, Role, User, db
from models import users as users_module
from models.api_tokens import utcnow
from models.planets import clean_planet
from tests.databases import private_database
from tests.smtp import Mailbox, SmtpServer, running_smtp_server
from tests.url_builders import shared_url_builders

PASSWORD = "correct horse battery"
ENVIRONMENT_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "CONSOLE_ENV", "RATELIMIT_STORAGE_URI",
                        "LOGIN_RATE_LIMIT", "REMEMBER_DAYS", "API_RATE_LIMIT",
                        "API_WRITE_RATE_LIMIT", "RATELIMIT_KEY_PREFIX", "TRUSTED_PROXY_HOPS",
                        "REGISTER_RATE_LIMIT", "TRUSTED_HOSTS", "STAFF_TWO_FACTOR",
                        "TWO_FACTOR_RATE_LIMIT", "RESET_RATE_LIMIT", "CONFIRM_RATE_LIMIT",
                        "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL",
                        "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER", "MAIL_TIMEOUT",
                        "SESSION_IDLE_MINUTES", "SESSION_LIFETIME_DAYS", "JOB_QUEUE_URL",
                        "JOB_QUEUE_NAME", "JOB_RETRIES", "JOB_LEASE_SECONDS")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated with the project's migrations, private to this test run."""
    with private_database(tmp_path_factory.mktemp("db"), "test") as url:
        _migrate(url, tmp_path_factory)
        yield url


def _migrate(url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from flask_migrate import upgrade

    app = create_app(_test_config(url), instance_path=str(tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _test_config(url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-with-enough-length-0123456789",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


@pytest.fixture(autouse=True)
def fast_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap hashes keep hundreds of logins fast; tests marked `real_hashing` keep werkzeug's
    default (scrypt), which the product uses."""
    if request.node.get_closest_marker("real_hashing"):
        return
    monkeypatch.setattr(users_module, "generate_password_hash",
                        partial(generate_password_hash, method="pbkdf2:sha256:1000"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings of the developer's shell must not leak into the tests."""
    for name in ENVIRONMENT_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def app_config() -> dict:
    """Per-test overrides of the app's config; a test module may override this fixture."""
    return {}


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback for the whole run."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Iterator[Mailbox]:
    """What the app of this test sends, as received by the loopback SMTP server."""
    smtp_server.mailbox = Mailbox(smtp_server.port)
    yield smtp_server.mailbox
    smtp_server.mailbox = None


@pytest.fixture(scope="session", autouse=True)
def url_builders() -> Iterator[None]:
    """Compiled URL builders shared by the many apps of a run (see tests/url_builders.py)."""
    with shared_url_builders():
        yield


@pytest.fixture(scope="session")
def template_cache(tmp_path_factory: pytest.TempPathFactory) -> FileSystemBytecodeCache:
    """Compiled templates shared by the many apps of a run (compiling them dominates)."""
    return FileSystemBytecodeCache(str(tmp_path_factory.mktemp("jinja")))


@pytest.fixture
def app(database_url: str, app_config: dict, tmp_path, template_cache,
        request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app under test. No app context stays pushed: each request gets its own `g`. With
    the `mailbox` fixture its mail goes to the loopback SMTP server; without it, to .eml files
    in the test's instance folder (tmp_path/mail)."""
    overrides = dict(app_config)
    if "mailbox" in request.fixturenames:
        overrides.update(request.getfixturevalue("mailbox").settings)
    app = create_app(_test_config(database_url, **overrides), instance_path=str(tmp_path))
    app.jinja_env.bytecode_cache = template_cache
    app.test_client_class = WorkingClient
    yield app
    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


class WorkingClient(FlaskClient):
    """A test client with a job worker at hand: after each request, the jobs it queued (its
    mails) run, as a worker would run them just after (the job queue's own tests use
    JobQueue.run_pending or real worker processes)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        self.application.extensions["job_queue"].run_pending()
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask):
    """Factory for stored users: make_user("ada", role="editor", is_active=False).

    Returns a detached, fully loaded User for reading its fields in the test."""
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, role: str = Role.MEMBER, password: str = PASSWORD,
             email: str | None = None, is_active: bool = True) -> User:
        username = username or f"user{next(counter)}"
        with app.app_context():
            user = accounts.create_account(
                username, email or f"{username}@example.com", password, role
            )
            user.is_active = is_active
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    return make


PLANET = {"name": "Kepler-452 b", "planet_type": "super_earth", "host_star": "Kepler-452",
          "discovery_year": 2015, "discovery_method": "transit", "radius_earth": 1.63,
          "orbital_period_days": 384.843}


@pytest.fixture
def make_planet(app: Flask):
    """Factory for stored planets: make_planet(name="X", mass_earth=2.0); returns the id."""
    counter = iter(range(1, 100_000))

    def make(**values) -> int:
        data = {**PLANET, "name": f"Test planet {next(counter)}", **values}
        with app.app_context():
            planet = Planet(**clean_planet(data))
            db.session.add(planet)
            db.session.commit()
            return planet.id

    return make


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD, remember: bool = False,
              **kwargs):
        data = {"username": username, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data, **kwargs)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def login_as(app: Flask, make_user):
    """A new client logged in as a new user of `role`: login_as("editor") -> (client, user)."""

    def login(role: str = Role.MEMBER, **user_kwargs):
        user = make_user(role=role, **user_kwargs)
        client = app.test_client()
        response = AuthActions(client).login(user.username)
        assert response.status_code == 302, "login failed in fixture"
        return client, user

    return login


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def masked_page(page: str, address: str) -> str:
    """A page without what differs between any two answers to two visitors: the address they
    typed, the script nonce and the CSRF token (of the theme switch in every page's header)."""
    page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
    page = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', page)
    return page.replace(address, "ADDRESS")


@pytest.fixture
def make_token(app: Flask):
    """Factory for API tokens: make_token(user) -> the secret to send as a bearer token.

    Stores the row directly, so a test can give a token to a user the product would refuse."""
    counter = iter(range(1, 10_000))

    def make(user: User, name: str | None = None, revoked: bool = False) -> str:
        with app.app_context():
            token, secret = ApiToken.issue(db.session.get(User, user.id),
                                           name or f"token {next(counter)}")
            token.revoked_at = utcnow() if revoked else None
            db.session.add(token)
            db.session.commit()
        return secret

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
