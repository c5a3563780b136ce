"""The catalog pages: list, search, pages, details, escaping."""

import pytest


def test_catalog_lists_planets_by_name(client, make_planet):
    make_planet(name="Zeta b")
    make_planet(name="alpha c")
    page = client.get("/planets").get_data(as_text=True)
    assert page.index("alpha c") < page.index("Zeta b")


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("kep", ["Kepler-22 b", "Kepler-452 b"], ["TRAPPIST-1 e"]),
        ("TRAPPIST", ["TRAPPIST-1 e"], ["Kepler-22 b"]),
        ("kepler-452", ["Kepler-452 b"], ["Kepler-22 b"]),
        ("452", [], ["Kepler-452 b"]),  # prefix search, not substring
        ("%", [], ["Kepler-22 b"]),  # wildcards are literal
        ("_", [], ["Kepler-22 b"]),
    ],
)
def test_catalog_prefix_search_on_name_and_host_star(client, make_planet, query, shown, hidden):
    make_planet(name="Kepler-22 b", host_star="Kepler-22")
    make_planet(name="Kepler-452 b", host_star="Kepler-452")
    make_planet(name="TRAPPIST-1 e", host_star="TRAPPIST-1")
    page = client.get("/planets", query_string={"q": query}).get_data(as_text=True)
    assert all(name in page for name in shown)
    assert not any(f">{name}<" in page for name in hidden)


def test_catalog_search_by_host_star(client, make_planet):
    make_planet(name="Proxima Centauri b", host_star="Proxima Centauri")
    make_planet(name="Other b", host_star="Barnard's Star")
    page = client.get("/planets?q=barnard").get_data(as_text=True)
    assert "Other b" in page and "Proxima Centauri b" not in page


def test_catalog_filter_by_type(client, make_planet):
    make_planet(name="Giant b", planet_type="gas_giant")
    make_planet(name="Rock b", planet_type="terrestrial")
    page = client.get("/planets?type=terrestrial").get_data(as_text=True)
    assert "Rock b" in page and "Giant b" not in page


def test_catalog_pages(client, make_planet):
    for number in range(30):
        make_planet(name=f"Planet {number:02d}")
    first = client.get("/planets").get_data(as_text=True)
    second = client.get("/planets?page=2").get_data(as_text=True)
    assert "Planet 24" in first and "Planet 25" not in first
    assert "Planet 25" in second and "Planet 29" in second and "Planet 24" not in second
    assert 'href="/planets?page=2&amp;after=' in first
    assert 'href="/planets"' in second  # Previous: the first page, by number


@pytest.mark.parametrize("page", ["0", "-1", "x", "99999999999"])
def test_catalog_bad_page_numbers_show_the_first_page(client, make_planet, page):
    make_planet(name="Only b")
    response = client.get("/planets", query_string={"page": page})
    assert response.status_code == 200 and b"Only b" in response.data


def test_planet_detail_page(client, make_planet):
    planet_id = make_planet(name="Kepler-452 b", mass_earth=None, radius_earth=1.63,
                            description="Earth's older cousin.", source="NASA Exoplanet Archive")
    page = client.get(f"/planets/{planet_id}").get_data(as_text=True)
    assert "Kepler-452 b" in page and "1.63 Earth radii" in page
    assert "Earth&#39;s older cousin." in page and "NASA Exoplanet Archive" in page
    assert f'href="/mission-application?planet={planet_id}"' in page
    assert "Apply for this mission" in page


def test_unknown_planet_is_404(client):
    assert client.get("/planets/999999").status_code == 404


def test_user_supplied_text_is_escaped(client, make_planet):
    planet_id = make_planet(name="<script>alert(1)</script>", host_star="<b>star</b>",
                            description="<img src=x onerror=alert(1)>")
    for path in ("/planets", f"/planets/{planet_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<b>star</b>" not in page
    assert "<img src=x" not in client.get(f"/planets/{planet_id}").get_data(as_text=True)


@pytest.mark.parametrize("query", ["\x7f", "tab\there"])
def test_control_characters_in_the_search_are_ignored(client, make_planet, query):
    make_planet(name="Only b")
    response = client.get("/planets", query_string={"q": query})
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["\x00", "bad\x00text"])
def test_a_nul_character_in_the_search_is_a_400_page(client, make_planet, query):
    make_planet(name="Only b")
    response = client.get("/planets", query_string={"q": query})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "NUL character" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/planets/99999999999999999999", "/planets/2147483648"])
def test_out_of_range_planet_ids_are_404(client, path):
    assert client.get(path).status_code == 404


def test_out_of_range_ids_in_the_mission_pages(login_as):
    client, _ = login_as()
    assert client.get("/mission-application?planet=99999999999999999999").status_code == 200
    response = client.post("/mission-application/99999999999999999999/withdraw")
    assert response.status_code == 404
