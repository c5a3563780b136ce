"""Who may enter /admin: staff roles yes, members 403, anonymous to the login page."""

from urllib.parse import parse_qs, urlsplit

import pytest


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/login" and parse_qs(location.query) == {"next": ["/admin/"]}
    assert b"Please log in to see this page." in client.get(response.location).data


def test_anonymous_returns_to_console_after_login(client, make_user, auth):
    make_user("boss", role="admin")
    response = auth.login("boss", query_string={"next": "/admin/"})
    assert response.location == "/admin/"


@pytest.mark.parametrize(("role", "status"),
                         [("member", 403), ("viewer", 200), ("editor", 200), ("admin", 200)])
def test_console_home_by_role(login_as, role, status):
    client, _ = login_as(role)
    response = client.get("/admin/")
    assert response.status_code == status
    if status == 403:
        assert b"You do not have permission" in response.data


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_dashboard_links_to_console_only_for_staff(login_as, role):
    client, _ = login_as(role)
    page = client.get("/").data
    assert (b'href="/admin/"' in page) == (role != "member")
