"""Behind TRUSTED_PROXY_HOPS reverse proxies the client's address comes from X-Forwarded-For;
with the default 0 the header is ignored, since any client can send it."""

import pytest
from sqlalchemy import select

from models import AuditEvent, db

REGISTRATION = {"username": "ada_l", "email": "ada@example.com",
                "password": "analytical-engine", "confirm": "analytical-engine"}


@pytest.mark.parametrize(
    ("app_config", "forwarded_for", "remote_addr"),
    [
        ({}, "203.0.113.9", "127.0.0.1"),
        ({"TRUSTED_PROXY_HOPS": 0}, "203.0.113.9", "127.0.0.1"),
        ({"TRUSTED_PROXY_HOPS": 1}, "203.0.113.9", "203.0.113.9"),
        ({"TRUSTED_PROXY_HOPS": 1}, "198.51.100.66, 203.0.113.9", "203.0.113.9"),
        ({"TRUSTED_PROXY_HOPS": 2}, "198.51.100.66, 203.0.113.9", "198.51.100.66"),
    ],
)
def test_audit_log_records_the_address_the_trusted_proxies_saw(app, client, forwarded_for,
                                                               remote_addr):
    client.post("/register", data=REGISTRATION, headers={"X-Forwarded-For": forwarded_for})
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.remote_addr) == ("user.register", remote_addr)


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXY_HOPS": 1}])
def test_login_rate_limit_counts_each_client_behind_the_proxy_apart(auth, make_user):
    make_user("ada")
    make_user("bob")
    first, second = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(5):
        auth.login("ada", "wrong password!", headers=first)
    assert auth.login("nobody", "wrong password!", headers=first).status_code == 429
    assert auth.login("bob", headers=second).status_code == 302

