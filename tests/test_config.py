"""Configuration from the environment, and a fresh instance/ starting on its own."""

import pytest
from flask_migrate import upgrade

from console import create_app
from console.config import ConfigurationError, normalise_database_url, settings_from_environment


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    second = create_app(instance_path=str(tmp_path)).config["SECRET_KEY"]
    assert len(first) >= 32 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    assert create_app(instance_path=str(tmp_path)).config["SECRET_KEY"] == "k" * 40


@pytest.mark.parametrize("secret_key", [None, "", "short", "changeme", "a" * 64,
                                        "01234567890123456789012345678901"])
def test_production_refuses_missing_or_weak_secret_key(tmp_path, monkeypatch, secret_key):
    monkeypatch.setenv("CONSOLE_ENV", "production")
    if secret_key is not None:
        monkeypatch.setenv("SECRET_KEY", secret_key)
    with pytest.raises(ConfigurationError) as raised:
        create_app(instance_path=str(tmp_path))
    message = str(raised.value.code)
    assert message.startswith("Configuration error: SECRET_KEY") and "\n" not in message
    assert not (tmp_path / "secret_key").exists()


def test_production_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CONSOLE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "9f8Kq2LmZx4Rv7Tn1Wb6Yc3Hd5Je0Ua-Pq")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal/console")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://cache.internal:6379/0")
    monkeypatch.setenv("TRUSTED_HOSTS", "console.example.org, Console.Example.net")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("JOB_QUEUE_URL", "redis://cache.internal:6379/1")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "Console <no-reply@example.org>")
    config = create_app(instance_path=str(tmp_path)).config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["TRUSTED_HOSTS"] == ["console.example.org", "console.example.net"]
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db.internal/console"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/0"


def test_development_defaults(tmp_path):
    config = create_app(instance_path=str(tmp_path)).config
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'console.db'}"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert not config["SESSION_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax" and config["SESSION_COOKIE_HTTPONLY"]


@pytest.mark.parametrize(("raw", "hops"), [(None, 0), ("0", 0), ("2", 2)])
def test_trusted_proxy_hops_from_environment(tmp_path, monkeypatch, raw, hops):
    if raw is not None:
        monkeypatch.setenv("TRUSTED_PROXY_HOPS", raw)
    assert create_app(instance_path=str(tmp_path)).config["TRUSTED_PROXY_HOPS"] == hops


@pytest.mark.parametrize("raw", ["-1", "one"])
def test_trusted_proxy_hops_must_be_a_whole_number_of_at_least_zero(tmp_path, monkeypatch, raw):
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", raw)
    with pytest.raises(ConfigurationError) as raised:
        create_app(instance_path=str(tmp_path))
    assert str(raised.value.code).startswith("Configuration error: TRUSTED_PROXY_HOPS must be")


def test_rate_limit_key_prefix_from_environment(tmp_path, monkeypatch):
    """Separates the counters of deployments that share one Redis. (Read without create_app:
    the limiter is one object for the whole process and keeps the first prefix it is given.)"""
    monkeypatch.setenv("RATELIMIT_KEY_PREFIX", "staging")
    assert settings_from_environment(tmp_path)["RATELIMIT_KEY_PREFIX"] == "staging"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_uses_psycopg3(url, expected):
    assert normalise_database_url(url) == expected


def test_creating_the_app_does_not_touch_the_database(tmp_path):
    create_app(instance_path=str(tmp_path))
    assert not (tmp_path / "console.db").exists()


def test_fresh_instance_migrates_and_serves_the_landing_page(tmp_path):
    """What `make run` does on a fresh clone: upgrade the default SQLite file, then serve."""
    app = create_app(instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
    assert (tmp_path / "instance" / "console.db").exists()
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert b"Welcome to the Interstellar Space Station!" in response.data
