"""Headers, CSRF, offline pages and the error pages."""

import re

import pytest
from sqlalchemy import func, select

from models import User, db
from tests.conftest import PASSWORD, csrf_token_from

PAGES_ANONYMOUS = ["/", "/login", "/register", "/no-such-page"]
PAGES_LOGGED_IN = ["/", "/account", "/account/password", "/admin/"]


def _external_urls(html: str) -> list[str]:
    """URLs the page would load or post to outside this site."""
    urls = re.findall(r'(?:src|href|action)\s*=\s*["\']([^"\']+)', html)
    urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", html)
    return [url for url in urls if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.I)]


@pytest.mark.parametrize("path", PAGES_ANONYMOUS)
def test_anonymous_pages_load_nothing_from_outside(client, path):
    html = client.get(path).get_data(as_text=True)
    assert "<link" in html and "<script" in html
    assert _external_urls(html) == []


@pytest.mark.parametrize("path", PAGES_LOGGED_IN)
def test_logged_in_pages_load_nothing_from_outside(login_as, path):
    client, _ = login_as("admin")
    response = client.get(path)
    assert response.status_code == 200
    assert _external_urls(response.get_data(as_text=True)) == []


def test_external_url_detector_finds_a_cdn():
    assert _external_urls('<script src="https://cdn.example/x.js"></script>') == [
        "https://cdn.example/x.js"]
    assert _external_urls('<link href="//cdn.example/x.css">') == ["//cdn.example/x.css"]


def test_security_headers_on_every_page(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy


def test_every_script_carries_this_responses_nonce(login_as):
    client, _ = login_as("admin")
    for path in ("/", "/admin/"):
        response = client.get(path)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]
        scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
        assert scripts
        assert all(f'nonce="{nonce}"' in tag for tag in scripts), path


def test_session_cookie_flags(client, make_user):
    make_user("ada")
    response = client.post("/login", data={"username": "ada", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
class TestCSRF:
    def test_register_without_token_is_refused_and_stores_nothing(self, client, app):
        response = client.post("/register", data={
            "username": "ada_l", "email": "ada@example.com",
            "password": "analytical-engine", "confirm": "analytical-engine"})
        assert response.status_code == 400
        assert b"did not come from this site" in response.data
        with app.app_context():
            assert db.session.scalar(select(func.count(User.id))) == 0

    def test_register_with_token_works(self, client):
        token = csrf_token_from(client.get("/register").get_data(as_text=True))
        response = client.post("/register", data={
            "csrf_token": token, "username": "ada_l", "email": "ada@example.com",
            "password": "analytical-engine", "confirm": "analytical-engine"})
        assert response.status_code == 200  # the "check your inbox" page: registered
        assert "Check your inbox" in response.get_data(as_text=True)

    def test_login_without_token_is_refused(self, client, make_user):
        make_user("ada")
        response = client.post("/login", data={"username": "ada", "password": PASSWORD})
        assert response.status_code == 400

    def test_logout_without_token_keeps_the_session(self, client, make_user):
        make_user("ada")
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": "ada",
                                    "password": PASSWORD})
        assert client.post("/logout").status_code == 400
        assert b"Welcome, ada!" in client.get("/").data

    def test_password_change_without_token_changes_nothing(self, client, make_user, app):
        user = make_user("ada")
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": "ada",
                                    "password": PASSWORD})
        response = client.post("/account/password", data={
            "current_password": PASSWORD, "password": "another passphrase",
            "confirm": "another passphrase"})
        assert response.status_code == 400
        with app.app_context():
            assert db.session.get(User, user.id).check_password(PASSWORD)


@pytest.mark.parametrize(
    ("method", "path", "status", "text"),
    [
        ("get", "/no-such-page", 404, b"There is nothing at this address."),
        ("get", "/logout", 405, b"does not accept that kind of request"),
        ("put", "/login", 405, b"does not accept that kind of request"),
    ],
)
def test_error_pages_in_the_products_look(client, method, path, status, text):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert text in response.data
    assert b"Interstellar Space Station</a>" in response.data


def test_unexpected_error_is_a_friendly_500_without_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.data
    assert b"secret internals" not in response.data and b"Traceback" not in response.data


def test_password_hash_never_reaches_a_page(login_as):
    client, _ = login_as("admin")
    for path in PAGES_LOGGED_IN:
        body = client.get(path).get_data(as_text=True)
        assert "scrypt:" not in body and "pbkdf2:" not in body
