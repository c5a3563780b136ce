"""API tokens on the account page and from the CLI: shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from console.cli import create_token_command
from models import ApiToken, AuditEvent, db
from tests.conftest import PLANET, bearer, csrf_token_from

SECRET_IN_PAGE = re.compile(r'id="new-api-token">([^<]+)<')


def _tokens(app):
    with app.app_context():
        return db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def _events(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def _create(client, name="ci"):
    response = client.post("/account/tokens", data={"name": name})
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_create_shows_the_token_once_and_stores_only_its_hash(login_as, app, role):
    client, user = login_as(role)
    response = _create(client, " deploy bot ")
    secret = SECRET_IN_PAGE.search(response.get_data(as_text=True))[1]
    assert len(secret) >= 40
    assert response.headers["Cache-Control"] == "no-store"
    assert secret not in response.headers.get("Set-Cookie", "")
    [token] = _tokens(app)
    assert (token.user_id, token.name, token.prefix) == (user.id, "deploy bot", secret[:8])
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.token_hash, token.name, token.prefix}
    page = client.get("/account").get_data(as_text=True)
    assert "deploy bot" in page and secret[:8] in page and secret not in page
    assert client.post("/api/planets", json=PLANET, headers=bearer(secret)).status_code == 201


def test_token_creation_is_audited_without_the_secret(login_as, app):
    client, user = login_as("editor")
    secret = SECRET_IN_PAGE.search(_create(client).get_data(as_text=True))[1]
    [event] = _events(app, "token.create")
    assert (event.actor_username, event.target_type, event.changes) == (
        user.username, "api_token", {"name": [None, "ci"], "owner": [None, user.username]})
    assert secret not in str(event.changes) and secret[:8] not in str(event.changes)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "This field is required."),
     ("x" * 51, "Field cannot be longer than 50 characters."),
     ("CI", "There is already a token named 'CI' on this account."),
     ("bell\x07", "Use no control characters.")],
)
def test_bad_or_taken_names_are_refused_next_to_the_field(login_as, app, name, message):
    client, _ = login_as("editor")
    _create(client, "ci")
    response = _create(client, name)
    page = response.get_data(as_text=True)
    assert message.replace("'", "&#39;") in page
    assert SECRET_IN_PAGE.search(page) is None
    assert len(_tokens(app)) == 1


def test_names_are_per_user(login_as, app):
    for _ in range(2):
        client, _ = login_as("editor")
        _create(client, "ci")
    assert len(_tokens(app)) == 2


def test_revoke_stops_the_token_at_once_and_is_audited(login_as, app):
    client, _ = login_as("editor")
    secret = SECRET_IN_PAGE.search(_create(client).get_data(as_text=True))[1]
    [token] = _tokens(app)
    response = client.post(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert _tokens(app)[0].revoked_at is not None
    assert client.post("/api/planets", json=PLANET, headers=bearer(secret)).status_code == 401
    assert "revoked" in client.get("/account").get_data(as_text=True)
    [event] = _events(app, "token.revoke")
    assert event.target_id == str(token.id) and event.changes["revoked_at"][0] is None
    assert event.changes["revoked_at"][1].startswith(str(_tokens(app)[0].revoked_at.year))


def test_revoking_someone_elses_or_a_missing_token_is_404(login_as, make_user, make_token,
                                                          app):
    client, _ = login_as("admin")
    other = make_user(role="editor")
    make_token(other)
    [token] = _tokens(app)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert client.post("/account/tokens/424242/revoke").status_code == 404
    assert client.post("/account/tokens/99999999999999999999/revoke").status_code == 404
    assert _tokens(app)[0].revoked_at is None


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_get_403_and_no_token_card(login_as, make_token, app, role):
    client, user = login_as(role)
    make_token(user)  # stored directly; the product would not make one
    [token] = _tokens(app)
    assert client.post("/account/tokens", data={"name": "ci"}).status_code == 403
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 403
    assert "API tokens" not in client.get("/account").get_data(as_text=True)
    assert len(_tokens(app)) == 1


def test_anonymous_token_requests_go_to_login(client):
    response = client.post("/account/tokens", data={"name": "ci"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
class TestCSRF:
    def _login(self, client, make_user):
        user = make_user(role="editor")
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": user.username,
                                    "password": "correct horse battery"})
        return csrf_token_from(client.get("/account").get_data(as_text=True))

    def test_create_without_csrf_token_is_refused(self, client, make_user, app):
        self._login(client, make_user)
        assert client.post("/account/tokens", data={"name": "ci"}).status_code == 400
        assert _tokens(app) == []

    def test_create_and_revoke_with_csrf_token_work(self, client, make_user, app):
        csrf = self._login(client, make_user)
        response = client.post("/account/tokens", data={"name": "ci", "csrf_token": csrf})
        assert SECRET_IN_PAGE.search(response.get_data(as_text=True))
        [token] = _tokens(app)
        assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 400
        assert _tokens(app)[0].revoked_at is None
        response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf})
        assert response.status_code == 302 and _tokens(app)[0].revoked_at is not None


# --- the CLI ------------------------------------------------------------------------------------


def test_create_token_command_prints_a_working_token(runner, make_user, client, app):
    user = make_user("ada", role="editor")
    result = runner.invoke(create_token_command, ["ada", "nightly import"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert "\n" not in secret and "shown only this once" in result.stderr
    [token] = _tokens(app)
    assert (token.user_id, token.name) == (user.id, "nightly import")
    assert client.post("/api/planets", json=PLANET, headers=bearer(secret)).status_code == 201
    [event] = _events(app, "token.create")
    assert event.via == "cli"


@pytest.mark.parametrize(
    ("username", "name", "message"),
    [
        ("nobody", "ci", "Error: No user named 'nobody'."),
        ("viewer1", "ci", "Error: 'viewer1' is a viewer, who may not change planets"),
        ("member1", "ci", "Error: 'member1' is a member, who may not change planets"),
        ("gone", "ci", "Error: 'gone' is deactivated"),
        ("ada", "", "Error: Use 1 to 50 characters."),
        ("ada", "x" * 51, "Error: Use 1 to 50 characters."),
        ("ada", "TAKEN", "Error: There is already a token named 'TAKEN' on this account."),
    ],
)
def test_create_token_errors_are_one_line_and_status_1(runner, make_user, app, username, name,
                                                       message):
    make_user("ada", role="editor")
    make_user("viewer1", role="viewer")
    make_user("member1", role="member")
    make_user("gone", role="editor", is_active=False)
    assert runner.invoke(create_token_command, ["ada", "taken"]).exit_code == 0
    result = runner.invoke(create_token_command, [username, name])
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert len(_tokens(app)) == 1
