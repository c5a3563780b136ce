"""The apps the benchmark drives: the console as built by create_app(), and a stock Flask-Admin
ModelView over the same planets table as the reference it is compared with."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from flask.logging import default_handler
from flask.testing import FlaskClient
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.theme import Bootstrap4Theme

from console import create_app
from models import Planet, db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "benchmark-secret-key-with-enough-length-0123456789"
ADMIN_USERNAME = "benchadmin"
ADMIN_PASSWORD = "bench admin password 42"
# Settings of the developer's shell that would change what is measured.
ENVIRONMENT_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "CONSOLE_ENV", "RATELIMIT_STORAGE_URI",
                        "LOGIN_RATE_LIMIT", "REMEMBER_DAYS", "API_RATE_LIMIT",
                        "API_WRITE_RATE_LIMIT")


def clean_environment() -> None:
    for name in ENVIRONMENT_SETTINGS:
        os.environ.pop(name, None)


def send_logs_to(path: Path) -> None:
    """Every log record (the console's line per request included) into `path` rather than
    onto the terminal: still formatted and written, as in production, but out of the table.
    Call before creating apps, so that Flask adds no handler of its own to theirs."""
    root = logging.getLogger()
    for handler in list(root.handlers):  # e.g. the one alembic's logging config adds
        root.removeHandler(handler)
    root.addHandler(logging.FileHandler(path))
    logging.getLogger("console").removeHandler(default_handler)


def bench_config(url: str) -> dict[str, Any]:
    """The console's config for benchmarking: no CSRF tokens to scrape, no rate limits, and
    TESTING off so that nothing test-only changes how a request is served."""
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET_KEY,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "TESTING": False,
    }


def console_app(url: str, instance_path: Path) -> Flask:
    instance_path.mkdir(parents=True, exist_ok=True)
    return create_app(bench_config(url), instance_path=str(instance_path))


class StockPlanetView(ModelView):
    """Flask-Admin's defaults, with only the search and the export the console also offers;
    without the column that serves the console's search (Planet.search_text), which is no
    field of a planet, so that stock shows the table it showed before that column."""

    can_export = True
    column_searchable_list = ["name", "host_star"]
    column_exclude_list = ["search_text"]
    column_export_exclude_list = ["search_text"]


def stock_app(url: str) -> Flask:
    """A plain Flask app with a stock ModelView of Planet at /admin/planet/."""
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=SECRET_KEY)
    db.init_app(app)
    admin = Admin(app, theme=Bootstrap4Theme())
    admin.add_view(StockPlanetView(Planet, db.session, name="Planets", endpoint="planet"))
    return app


def logged_in_client(app: Flask) -> FlaskClient:
    """A test client with the benchmark's admin logged in."""
    client = app.test_client()
    response = client.post("/login", data={"username": ADMIN_USERNAME,
                                           "password": ADMIN_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"the benchmark admin could not log in (HTTP {response.status_code})")
    return client


def admin_view(app: Flask, endpoint: str) -> ModelView:
    """The Flask-Admin view of `endpoint` in `app`."""
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if view.endpoint == endpoint:
                return view
    raise LookupError(f"no admin view {endpoint!r}")


def sort_indexes(view: ModelView, names: list[str] | None = None) -> dict[str, int]:
    """{column: the `sort=` index its header link uses} for the view's sortable columns
    (the list view sorts by position in its list columns)."""
    positions = {name: index for index, (name, _) in enumerate(view._list_columns)}
    sortable = names if names is not None else list(view._sortable_columns)
    return {name: positions[name] for name in sortable if name in positions}


def sortable_names(view: ModelView) -> list[str]:
    """The names in the view's column_sortable_list, as the view declares them."""
    declared = view.column_sortable_list or list(view._sortable_columns)
    return [entry if isinstance(entry, str) else entry[0] for entry in declared]
