"""Mail: sent over SMTP to a real server on loopback, written to instance/mail/ as .eml files
without a MAIL_SERVER, and a mail server that fails never breaks the request that sends."""

from __future__ import annotations

import logging
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from console import create_app
from console.config import ConfigurationError
from models import User, db
from tests.conftest import PASSWORD
from tests.network import free_port
from tests.smtp import link_in, mail_parts

REGISTRATION = {"username": "ada_l", "email": "ada@example.com", "password": PASSWORD,
                "confirm": PASSWORD}


def _register(client):
    return client.post("/register", data=REGISTRATION)


def test_registration_mail_reaches_the_smtp_server_with_both_parts(client, app, mailbox):
    assert _register(client).status_code == 200
    message = mailbox.one()
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Confirm your email address"
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Auto-Submitted"] == "auto-generated"
    text, html = mail_parts(message)
    assert "Hello ada_l" in text and "<p>Hello ada_l,</p>" in html
    assert "24 hours" in text and "<html" in html
    link = link_in(message, "/confirm-email")
    assert link.startswith("http://localhost/confirm-email?token=")
    assert client.get(link).status_code == 200  # the link opens its page


@pytest.mark.real_hashing
def test_no_mail_holds_a_password_or_a_hash(client, app, mailbox, make_user):
    """A confirmation, a registration attempt and a reset mail: the one secret in each is
    its link (the lockout mail: tests/test_password_reset.py)."""
    _register(client)
    client.post("/register", data={**REGISTRATION, "username": "someone"})  # a taken address
    client.post("/forgot-password", data={"email": "ada@example.com"})
    with app.app_context():
        password_hash = db.session.scalar(select(User.password_hash))
    assert len(mailbox) == 3
    for message in mailbox:
        raw = message.as_string()
        assert PASSWORD not in raw
        assert password_hash not in raw and password_hash.split("$")[-1] not in raw
        assert app.config["SECRET_KEY"] not in raw


def test_without_a_mail_server_each_message_is_an_eml_file_and_the_log_names_it(
        client, app, caplog):
    assert not app.config["MAIL_SERVER"]
    with caplog.at_level(logging.INFO, logger="console.mail"):
        assert _register(client).status_code == 200
    files = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o077 == 0  # a link in it is a secret
    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert message["To"] == "ada@example.com"
    assert client.get(link_in(message, "/confirm-email")).status_code == 200
    lines = [record.getMessage() for record in caplog.records if record.name == "console.mail"]
    assert lines == [f"Mail to ada@example.com written to {files[0]}"]


def test_two_mails_are_two_files(client, app, make_user):
    make_user("ada", email="ada@example.com")
    client.post("/forgot-password", data={"email": "ada@example.com"})
    client.post("/forgot-password", data={"email": "ada@example.com"})
    assert len(list((Path(app.instance_path) / "mail").glob("*.eml"))) == 2


# A mail server nobody answers at: the connection is refused.
DEAD_SERVER = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port()}


@pytest.mark.parametrize("app_config", [DEAD_SERVER])
def test_a_dead_mail_server_does_not_break_registration(client, app, caplog):
    with caplog.at_level(logging.ERROR, logger="console.mail"):
        response = _register(client)
    assert response.status_code == 200 and "Check your inbox" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.username)) == "ada_l"  # stored all the same
    [record] = [r for r in caplog.records if r.name == "console.mail"]
    assert record.levelno == logging.ERROR
    assert re.fullmatch(r"The confirm_email mail was not sent: ConnectionRefusedError \(\d+\)",
                        record.getMessage())
    assert "token" not in record.getMessage()


@pytest.mark.parametrize("app_config", [DEAD_SERVER])
def test_a_dead_mail_server_does_not_break_a_reset_request(client, make_user, caplog):
    make_user("ada", email="ada@example.com")
    with caplog.at_level(logging.ERROR, logger="console.mail"):
        response = client.post("/forgot-password", data={"email": "ada@example.com"})
    assert response.status_code == 200 and "Check your inbox" in response.get_data(as_text=True)
    assert [r.getMessage() for r in caplog.records if r.name == "console.mail"] == [
        "The password_reset mail was not sent: ConnectionRefusedError (111)"]


@pytest.mark.parametrize("app_config", [DEAD_SERVER])
def test_a_dead_mail_server_does_not_break_an_email_change(login_as, app):
    client, user = login_as()
    response = client.post("/account", data={"email": "new@example.org",
                                             "current_password": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).email == "new@example.org"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"MAIL_USE_TLS": "true", "MAIL_USE_SSL": "1"}, "MAIL_USE_TLS (STARTTLS"),
        ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be true or false"),
        ({"MAIL_PORT": "smtp"}, "MAIL_PORT must be a whole number"),
        ({"MAIL_PORT": "70000"}, "MAIL_PORT must be at most 65535"),
        ({"CONSOLE_ENV": "production", "SECRET_KEY": "9f8Kq2LmZx4Rv7Tn1Wb6Yc3Hd5Je0Ua-Pq",
          "TRUSTED_HOSTS": "console.example.org", "MAIL_SERVER": "smtp.example.org",
          "JOB_QUEUE_URL": "redis://cache.internal:6379/1"},
         "MAIL_DEFAULT_SENDER must be set"),
        ({"CONSOLE_ENV": "production", "SECRET_KEY": "9f8Kq2LmZx4Rv7Tn1Wb6Yc3Hd5Je0Ua-Pq",
          "TRUSTED_HOSTS": "console.example.org",
          "JOB_QUEUE_URL": "redis://cache.internal:6379/1"},
         "MAIL_SERVER must name the SMTP server"),
    ],
)
def test_bad_mail_settings_stop_the_start(tmp_path, monkeypatch, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        create_app(instance_path=str(tmp_path))
    assert message in str(raised.value.code)


@pytest.mark.parametrize(
    ("environment", "port", "backend"),
    [
        ({}, 25, "console.mail.EmlFileEmailBackend"),
        ({"MAIL_SERVER": "smtp.example.org"}, 25, "smtp"),
        ({"MAIL_SERVER": "smtp.example.org", "MAIL_USE_TLS": "yes"}, 587, "smtp"),
        ({"MAIL_SERVER": "smtp.example.org", "MAIL_USE_SSL": "true"}, 465, "smtp"),
        ({"MAIL_SERVER": "smtp.example.org", "MAIL_PORT": "2525"}, 2525, "smtp"),
    ],
)
def test_mail_settings_from_the_environment(tmp_path, monkeypatch, environment, port, backend):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["MAIL_PORT"] == port
    assert app.config["MAIL_BACKEND"] == backend
    assert app.extensions["mailman"].server == environment.get("MAIL_SERVER", "")
