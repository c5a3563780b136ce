"""One structured line per request on the `console.requests` logger, and never a secret."""

import json

import pytest

from tests.conftest import PASSWORD, PLANET, bearer

LOGGER = "console.requests"


def _lines(caplog) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records
            if record.name == LOGGER]


def test_each_request_is_one_line_with_method_path_status_duration_user_and_address(
        caplog, login_as):
    client, user = login_as("viewer")
    caplog.clear()
    client.get("/planets?q=kepler&page=2")
    [line] = _lines(caplog)
    assert line.keys() == {"method", "path", "status", "duration_ms", "user_id", "remote_addr"}
    assert (line["method"], line["path"], line["status"]) == ("GET", "/planets", 200)
    assert (line["user_id"], line["remote_addr"]) == (user.id, "127.0.0.1")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


def test_anonymous_request_is_logged_without_a_user(caplog, client):
    client.get("/missing-page")
    [line] = _lines(caplog)
    assert (line["path"], line["status"], line["user_id"]) == ("/missing-page", 404, None)


def test_request_refused_by_the_login_rate_limit_is_logged(caplog, auth, make_user):
    make_user("ada")
    for _ in range(5):
        auth.login("ada", "wrong password!")
    caplog.clear()
    assert auth.login("ada", "wrong password!").status_code == 429
    [line] = _lines(caplog)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/login", 429)
    assert line["duration_ms"] is not None


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXY_HOPS": 1}])
def test_request_log_shows_the_client_address_behind_a_trusted_proxy(caplog, client):
    client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert _lines(caplog)[0]["remote_addr"] == "203.0.113.9"


def test_request_log_never_holds_passwords_tokens_cookies_or_query_strings(
        caplog, auth, client, make_user, make_token):
    editor = make_user("ada", role="editor")
    secret = make_token(editor)
    auth.login("ada", PASSWORD, remember=True)
    client.get("/account?token=query-secret")
    client.post("/api/planets", json=PLANET, headers=bearer(secret))
    cookies = [client.get_cookie(name).value for name in ("session", "remember_token")]
    lines = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert len(lines) == 3
    text = "\n".join(lines)
    for leak in [PASSWORD, secret, "query-secret", "Bearer", "Authorization", *cookies]:
        assert leak not in text
