"""The API's versions: an ETag on every answer with a planet, If-Match on every write, 412 and
nothing changed when the version is stale."""

from __future__ import annotations

import pytest

from tests.conftest import PLANET, bearer


@pytest.fixture
def headers(make_user, make_token):
    return bearer(make_token(make_user(role="editor")))


def test_the_etag_changes_with_every_write(client, headers):
    created = client.post("/api/planets", json=PLANET, headers=headers)
    url = created.headers["Location"]
    tags = [created.headers["ETag"], client.get(url).headers["ETag"]]
    for change in ({"mass_earth": 2.0}, {"mass_earth": 3.0}):
        tags.append(client.patch(url, json=change, headers=headers).headers["ETag"])
    tags.append(client.post(f"{url}/archive", headers=headers).headers["ETag"])
    assert tags[0] == tags[1] and len(set(tags[1:])) == 4


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("PATCH", "", {"mass_earth": 9.0}), ("PUT", "", {**PLANET, "mass_earth": 9.0}),
    ("DELETE", "", None), ("POST", "/archive", None), ("POST", "/unarchive", None)])
def test_a_stale_if_match_is_412_with_the_current_planet_and_changes_nothing(
        client, headers, method, suffix, body):
    url = client.post("/api/planets", json=PLANET, headers=headers).headers["Location"]
    stale = client.get(url).headers["ETag"]
    fresh = client.patch(url, json={"mass_earth": 1.5}, headers=headers).headers["ETag"]
    response = client.open(url + suffix, method=method, json=body,
                           headers={**headers, "If-Match": stale})
    assert response.status_code == 412
    answer = response.get_json()
    assert answer["error"]["status"] == 412 and answer["planet"]["mass_earth"] == 1.5
    assert response.headers["ETag"] == fresh
    after = client.get(url)
    assert after.status_code == 200 and after.headers["ETag"] == fresh
    assert after.get_json()["mass_earth"] == 1.5 and after.get_json()["archived"] is False


def test_a_matching_if_match_or_none_goes_ahead(client, headers):
    url = client.post("/api/planets", json=PLANET, headers=headers).headers["Location"]
    current = client.get(url).headers["ETag"]
    matched = client.patch(url, json={"mass_earth": 2.0}, headers={**headers, "If-Match": current})
    assert matched.status_code == 200 and matched.get_json()["mass_earth"] == 2.0
    star = client.patch(url, json={"mass_earth": 3.0}, headers={**headers, "If-Match": "*"})
    assert star.status_code == 200
    plain = client.patch(url, json={"mass_earth": 4.0}, headers=headers)
    assert plain.status_code == 200 and plain.get_json()["mass_earth"] == 4.0
    gone = client.delete(url, headers={**headers, "If-Match": plain.headers["ETag"]})
    assert gone.status_code == 204
