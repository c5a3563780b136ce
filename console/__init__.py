"""The console application; create_app() is the only place it is assembled."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from console.config import settings_from_environment
from console.extensions import csrf, limiter, login_manager, migrate
from console.pool_ping import ping_idle_connections
from models import User, db

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app from the environment, then apply `config` overrides (used by tests)."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(settings_from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)

    register_extensions(app)
    register_blueprints(app)
    register_template_filters(app)
    register_error_handlers(app)
    register_commands(app)
    register_request_log(app)
    trust_proxies(app)
    return app


def _load_user(session_token: str) -> User | None:
    from console.services import sessions

    return sessions.load(session_token)


def _enable_sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def register_extensions(app: Flask) -> None:
    from console.admin import init_admin
    from console.admin.planet_import import raise_upload_limit
    from console.jobs import init_jobs
    from console.mail import init_mail
    from console.security import register_security

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    raise_upload_limit(app)  # before CSRFProtect, which reads the upload
    csrf.init_app(app)
    limiter.init_app(app)
    init_mail(app)
    init_jobs(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    if not event.contains(Engine, "connect", _enable_sqlite_foreign_keys):
        event.listen(Engine, "connect", _enable_sqlite_foreign_keys)
    register_security(app)
    init_admin(app)


def register_blueprints(app: Flask) -> None:
    from console.api import bp as api_bp
    from console.auth import bp as auth_bp
    from console.health import bp as health_bp
    from console.site import bp as site_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(site_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    csrf.exempt(api_bp)  # the API takes bearer tokens, never the session cookie, for writes


def register_template_filters(app: Flask) -> None:
    """Values as words, numbers and times as people read them (console/labels.py), and the
    focus on a page's first invalid field (console/form_focus.py)."""
    from console.form_focus import init_form_focus
    from console.labels import register_labels

    register_labels(app)
    init_form_focus(app)


def register_error_handlers(app: Flask) -> None:
    from console.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from console.cli import register_cli

    register_cli(app)


def register_request_log(app: Flask) -> None:
    from console.request_log import register_request_log as register

    register(app)


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_HOPS reverse proxies, take the client's address, scheme and host
    from their X-Forwarded-* headers; with 0 those headers are ignored (anyone can send them)."""
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
