"""Deep pages (a deferred join past models.paging.DEFERRED_FROM) show the same rows as OFFSET."""

import re

import pytest

from models import paging


@pytest.fixture
def thirty_planets(make_planet):
    for number in range(30):
        make_planet(name=f"Planet {number:02d}", mass_earth=float(30 - number))


def _names(html: str) -> list[str]:
    return re.findall(r"Planet \d\d", html)


@pytest.mark.parametrize(
    "path",
    ["/planets?page=2", "/api/planets?page=2&per_page=7",
     "/api/planets?page=3&per_page=7&sort=mass_earth", "/admin/planet/?page=1",
     "/admin/planet/?page=1&sort=5"],
)
def test_deep_pages_match_plain_offset_pages(login_as, thirty_planets, monkeypatch, path):
    client, _ = login_as("viewer")
    plain = _names(client.get(path).get_data(as_text=True))
    monkeypatch.setattr(paging, "DEFERRED_FROM", 1)
    deferred = _names(client.get(path).get_data(as_text=True))
    assert plain and deferred == plain
