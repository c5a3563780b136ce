"""Fixtures: a migrated database per run (SQLite file, or a private PostgreSQL schema), an app
per test, clients, a CLI runner, user factories and login helpers."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from functools import partial

import pytest
import sqlalchemy as sa
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

PASSWORD = "correct horse battery"
ENVIRONMENT_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "CONSOLE_ENV", "RATELIMIT_STORAGE_URI",
                        "LOGIN_RATE_LIMIT", "REMEMBER_DAYS", "API_RATE_LIMIT",
                        "API_WRITE_RATE_LIMIT", "RATELIMIT_KEY_PREFIX", "TRUSTED_PROXY_HOPS",
                        "REGISTER_RATE_LIMIT", "TRUSTED_HOSTS")


def _postgres_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated with the project's migrations, private to this test run."""
    from console.config import normalise_database_url

    base_url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base_url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        _migrate(url, tmp_path_factory)
        yield url
        return
    base_url = normalise_database_url(base_url)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin_engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = _postgres_schema_url(base_url, schema)
        _migrate(url, tmp_path_factory)
        yield url
    finally:
        with admin_engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


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
def template_cache(tmp_path_factory: pytest.TempPathFactory) -> FileSystemBytecodeCache:
    """Compiled templates shared by the many apps of a run (compiling them dominates)."""
    return FileSystemBytecodeCache(str(tmp_path_factory.mktemp("jinja")))


@pytest.fixture
def app(database_url: str, app_config: dict, tmp_path, template_cache) -> Iterator[Flask]:
    """The app under test. No app context stays pushed: each request gets its own `g`."""
    app = create_app(_test_config(database_url, **app_config), instance_path=str(tmp_path))
    app.jinja_env.bytecode_cache = template_cache
    yield app
    with app.app_context():
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


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
