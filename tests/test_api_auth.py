"""Who may write through the API (a bearer token of an active editor or admin), and the rate
limits per client address and per token."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from console import create_app
from console.cli import deactivate_command, set_role_command
from console.config import ConfigurationError
from console.services import accounts
from models import ApiToken, Planet, User, db
from models.errors import DomainError
from tests.conftest import PLANET, bearer

WRITES = [
    ("post", "/api/planets", PLANET),
    ("put", "/api/planets/{id}", {**PLANET, "name": "Replaced"}),
    ("patch", "/api/planets/{id}", {"mass_earth": 2.0}),
    ("delete", "/api/planets/{id}", None),
]


def _no_token(make_user, make_token, runner):
    return {}


def _bad_token(make_user, make_token, runner):
    return bearer("not-a-token-that-was-ever-issued")


def _not_bearer(make_user, make_token, runner):
    return {"Authorization": "Basic ZWRpdG9yOnBhc3N3b3Jk"}


def _revoked(make_user, make_token, runner):
    return bearer(make_token(make_user(role="editor"), revoked=True))


def _role(role):
    def headers(make_user, make_token, runner):
        return bearer(make_token(make_user(role=role)))

    return headers


def _deactivated(make_user, make_token, runner):
    user = make_user(role="editor")
    secret = make_token(user)
    assert runner.invoke(deactivate_command, [user.username]).exit_code == 0
    return bearer(secret)


def _demoted(make_user, make_token, runner, *roles: str):
    user = make_user(role="editor")
    secret = make_token(user)
    for role in roles or ("viewer",):
        assert runner.invoke(set_role_command, [user.username, role]).exit_code == 0
    return bearer(secret)


def _promoted_again(make_user, make_token, runner):
    """The right came back, but the token the demotion revoked stays dead."""
    return _demoted(make_user, make_token, runner, "viewer", "editor")


# Member and viewer tokens cannot be made through the product; make_token stores them directly.
CREDENTIALS = [
    ("no token", _no_token, 401),
    ("bad token", _bad_token, 401),
    ("not a bearer", _not_bearer, 401),
    ("revoked token", _revoked, 401),
    ("member token", _role("member"), 403),
    ("viewer token", _role("viewer"), 403),
    ("editor token", _role("editor"), None),
    ("admin token", _role("admin"), None),
    ("deactivated user's token", _deactivated, 401),
    ("demoted user's token", _demoted, 401),  # revoked by the role change
    ("token of a user demoted and promoted again", _promoted_again, 401),
]


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Planet.id)))


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize(("credential", "make_headers", "refusal"), CREDENTIALS,
                         ids=[c[0] for c in CREDENTIALS])
def test_write_access_matrix(client, app, make_user, make_token, make_planet, runner, method,
                             path, body, credential, make_headers, refusal):
    planet_id = make_planet(name="Target")
    headers = make_headers(make_user, make_token, runner)
    response = getattr(client, method)(path.format(id=planet_id), json=body, headers=headers)
    if refusal is None:
        assert response.status_code in (200, 201, 204), response.get_data(as_text=True)
        return
    assert response.status_code == refusal
    assert response.get_json()["error"]["status"] == refusal
    if refusal == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _count(app) == 1
    assert client.get(f"/api/planets/{planet_id}").get_json()["name"] == "Target"


@pytest.mark.parametrize("path", ["/api/planets", "/api/planets/{id}", "/api/openapi.json",
                                  "/api/docs"])
def test_reads_are_public(client, make_planet, path):
    assert client.get(path.format(id=make_planet())).status_code == 200


def test_a_logged_in_session_cookie_cannot_write(login_as, app):
    client, _ = login_as("admin")
    response = client.post("/api/planets", json=PLANET)
    assert response.status_code == 401
    assert _count(app) == 0


def test_session_cookie_does_not_help_a_viewer_token(login_as, make_user, make_token):
    client, _ = login_as("admin")
    response = client.post("/api/planets", json=PLANET,
                           headers=bearer(make_token(make_user(role="viewer"))))
    assert response.status_code == 403


def test_api_writes_need_no_csrf_token(app, client, make_user, make_token):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/api/planets", json=PLANET,
                           headers=bearer(make_token(make_user(role="editor"))))
    assert response.status_code == 201


def test_use_updates_last_used_at(client, app, make_user, make_token):
    secret = make_token(make_user(role="editor"))
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is None
    client.post("/api/planets", json=PLANET, headers=bearer(secret))
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None


def test_a_user_holding_tokens_is_not_deleted_with_them(app, make_user, make_token):
    user = make_user(role="editor")
    make_token(user)
    with app.app_context():
        with pytest.raises(DomainError, match="API tokens"):
            accounts.delete_accounts([db.session.get(User, user.id)], actor=None, via="cli")
        db.session.delete(db.session.get(User, user.id))
        with pytest.raises(IntegrityError):  # no cascade in the database either
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count(ApiToken.id))) == 1


# --- rate limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("app_config", [{"API_RATE_LIMIT": "3 per minute"}])
def test_reads_are_limited_per_client_address(client, app_config):
    for _ in range(3):
        assert client.get("/api/planets").status_code == 200
    response = client.get("/api/openapi.json")  # one limit for the whole API
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["status"] == 429
    other_address = client.get("/api/planets", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 200


@pytest.mark.parametrize("app_config", [{"API_WRITE_RATE_LIMIT": "2 per minute"}])
def test_writes_are_limited_per_token(client, make_user, make_token, app_config):
    first, second = (bearer(make_token(make_user(role="editor"))) for _ in range(2))
    for number in range(2):
        response = client.post("/api/planets", json={**PLANET, "name": f"P{number}"},
                               headers=first)
        assert response.status_code == 201
    refused = client.post("/api/planets", json={**PLANET, "name": "P2"}, headers=first)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert client.get("/api/planets").status_code == 200  # reading goes on
    assert client.post("/api/planets", json={**PLANET, "name": "P3"},
                       headers=second).status_code == 201


def test_rate_limits_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("API_RATE_LIMIT", "10 per second")
    config = create_app(instance_path=str(tmp_path)).config
    assert (config["API_RATE_LIMIT"], config["API_WRITE_RATE_LIMIT"]) == (
        "10 per second", "60 per minute")


def test_a_bad_rate_limit_setting_stops_start_up_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("API_WRITE_RATE_LIMIT", "lots")
    with pytest.raises(ConfigurationError) as raised:
        create_app(instance_path=str(tmp_path))
    assert str(raised.value.code) == ("Configuration error: API_WRITE_RATE_LIMIT must be a rate "
                                      "such as '60 per minute', not 'lots'.")
