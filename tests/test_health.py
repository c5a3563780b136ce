"""GET /healthz tells a load balancer whether this app can reach its database."""

from console import create_app
from tests.conftest import _test_config


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_unavailable_without_details_when_the_database_fails(tmp_path):
    """Any backend: a SQLite file in a directory that does not exist cannot be opened."""
    url = f"sqlite:///{tmp_path / 'missing' / 'console.db'}"
    app = create_app(_test_config(url), instance_path=str(tmp_path))
    response = app.test_client().get("/healthz")
    assert (response.status_code, response.json) == (503, {"status": "unavailable"})
