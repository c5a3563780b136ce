"""The catalog pages: list, search, sorting, filters, pages, details, escaping."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console.paging import MAX_OFFSET


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
        ("452", ["Kepler-452 b"], ["Kepler-22 b"]),  # inside the name
        ("%", [], ["Kepler-22 b"]),  # wildcards are literal
        ("_", [], ["Kepler-22 b"]),
    ],
)
def test_catalog_search_on_name_and_host_star(client, make_planet, query, shown, hidden):
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


# --- sorting, filters and the end of the list -----------------------------------------------


@pytest.fixture
def catalog(make_planet):
    for name, planet_type, method, year, mass in [
        ("Kepler-22 b", "super_earth", "transit", 2011, None),
        ("51 Pegasi b", "gas_giant", "radial_velocity", 1995, 150.0),
        ("HR 8799 b", "gas_giant", "imaging", 2008, 2000.0),
        ("Uranus", "ice_giant", "observation", 1781, 14.5),
        ("Jupiter", "gas_giant", "observation", None, 317.8),
    ]:
        make_planet(name=name, host_star=name.rsplit(" ", 1)[0], planet_type=planet_type,
                    discovery_method=method, discovery_year=year, mass_earth=mass)


def _names(page: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'href="/planets/\d+">([^<]+)</a>', page)]


def _headings(page: str) -> dict[str, tuple[str | None, str | None]]:
    """{heading: (its aria-sort, its link)} of the catalog table."""
    cells = re.findall(r'<th scope="col"[^>]*?(?: aria-sort="(\w+)")?>(?:<a href="([^"]*)">)?'
                       r'([^<]+)', page)
    return {label: (order or None, html.unescape(link) or None) for order, link, label in cells}


@pytest.mark.parametrize(("sort", "names"), [
    ("name", ["51 Pegasi b", "HR 8799 b", "Jupiter", "Kepler-22 b", "Uranus"]),
    ("-name", ["Uranus", "Kepler-22 b", "Jupiter", "HR 8799 b", "51 Pegasi b"]),
    ("-discovery_year", ["Kepler-22 b", "HR 8799 b", "51 Pegasi b", "Uranus"]),
    ("mass_earth", ["Uranus", "51 Pegasi b", "Jupiter", "HR 8799 b"]),
    ("planet_type", ["51 Pegasi b", "HR 8799 b", "Jupiter", "Uranus", "Kepler-22 b"]),
])
def test_catalog_sorts_by_the_api_sorts(client, catalog, sort, names):
    page = client.get("/planets", query_string={"sort": sort}).get_data(as_text=True)
    # Where unknown values (NULL) go differs between the databases, as in the API.
    assert [name for name in _names(page) if name in names] == names


def test_the_sorted_column_says_so_and_its_heading_sorts_the_other_way(client, catalog):
    headings = _headings(client.get("/planets").get_data(as_text=True))
    assert headings["Name"] == ("ascending", "/planets?sort=-name")
    assert headings["Discovered"] == (None, "/planets?sort=discovery_year")
    assert headings["Host star"] == (None, None)  # the API has no such sort
    headings = _headings(client.get("/planets?sort=-discovery_year").get_data(as_text=True))
    assert headings["Discovered"] == ("descending", "/planets?sort=discovery_year")
    assert headings["Name"] == (None, "/planets?sort=name")


def test_a_search_in_its_own_order_marks_no_heading_as_sorted(client, catalog):
    headings = _headings(client.get("/planets?q=kepler").get_data(as_text=True))
    assert headings["Name"] == (None, "/planets?q=kepler&sort=name")
    assert all(order is None for order, _ in headings.values())


def test_every_sort_heading_is_a_sort_of_the_api(client, catalog):
    for _, link in _headings(client.get("/planets").get_data(as_text=True)).values():
        if link:
            sort = parse_qs(urlsplit(link).query).get("sort", ["name"])[0]
            assert client.get("/api/planets", query_string={"sort": sort}).status_code == 200
            assert client.get(link).status_code == 200


@pytest.mark.parametrize(("filters", "names"), [
    ({"method": "observation"}, ["Jupiter", "Uranus"]),
    ({"method": "observation", "type": "gas_giant"}, ["Jupiter"]),
    ({"discovered_from": "1995", "discovered_to": "2008"}, ["51 Pegasi b", "HR 8799 b"]),
    ({"discovered_to": "1800"}, ["Uranus"]),  # antiquity has no year: not "before 1800"
    ({"discovered_from": "2009", "method": "transit"}, ["Kepler-22 b"]),
    ({"discovered_from": "2020", "discovered_to": "2010"}, []),
    ({"method": "", "type": "", "discovered_from": " ", "q": ""},  # the form's blank fields
     ["51 Pegasi b", "HR 8799 b", "Jupiter", "Kepler-22 b", "Uranus"]),
])
def test_catalog_filters_by_method_and_discovery_years(client, catalog, filters, names):
    response = client.get("/planets", query_string=filters)
    assert response.status_code == 200 and _names(response.get_data(as_text=True)) == names


@pytest.mark.parametrize(("filters", "field", "message"), [
    ({"method": "telepathy"}, "method", "Discovery method must be one of: transit,"),
    ({"type": "moon"}, "type", "Type must be one of: terrestrial,"),
    ({"discovered_from": "last year"}, "discovered_from",
     "Discovered from must be a whole number from 0 to 9999."),
    ({"discovered_to": "99999"}, "discovered_to",
     "Discovered to must be a whole number from 0 to 9999."),
    ({"discovered_to": "-5"}, "discovered_to", "must be a whole number from 0 to 9999."),
])
def test_bad_filters_get_a_message_next_to_their_field(client, catalog, filters, field, message):
    response = client.get("/planets", query_string={"q": "kep", **filters})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', page) or \
        re.search(rf'aria-invalid="true"[^>]*id="{field}"', page)
    assert f'id="{field}-error"' in page and message in html.unescape(page)
    assert "see the marked fields" in page and 'value="kep"' in page  # the rest stays as typed


def test_a_bad_sort_gets_a_message(client, catalog):
    response = client.get("/planets?sort=host_star")
    assert response.status_code == 400
    assert "Sort must be one of: name, -name," in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["q", "type", "method", "discovered_from", "discovered_to"])
def test_every_filter_has_a_label(client, field):
    assert f'<label for="{field}">' in client.get("/planets").get_data(as_text=True)


def test_past_the_last_page_the_catalog_says_there_are_no_more_results(client, catalog):
    page = client.get("/planets?page=10&type=gas_giant&sort=-name").get_data(as_text=True)
    assert "No more results" in page and "Page 1" not in page
    assert "No planet matches" not in page
    assert 'href="/planets?type=gas_giant&amp;sort=-name">Back to the first page' in page


def test_a_search_without_matches_is_not_the_end_of_a_list(client, catalog):
    page = client.get("/planets?q=zzz").get_data(as_text=True)
    assert "No planet matches this search." in page and "No more results" not in page


def test_pages_keep_the_search_sort_and_filters(client, make_planet, monkeypatch):
    monkeypatch.setattr("console.site.views.PLANETS_PER_PAGE", 2)
    for number in range(7):
        make_planet(name=f"Kepler-{number} b", mass_earth=number % 3 + 1.0, discovery_year=2010,
                    planet_type="gas_giant" if number != 3 else "terrestrial")
    make_planet(name="Other b", host_star="Other", mass_earth=1.0, planet_type="gas_giant")
    args = "q=kepler&type=gas_giant&discovered_from=2000&sort=-mass_earth"
    url, seen, pages = f"/planets?{args}", [], 0
    while url:
        page = client.get(url).get_data(as_text=True)
        pages += 1
        seen += _names(page)
        headings = _headings(page)
        assert headings["Mass (Earth = 1)"] == (
            "descending", "/planets?q=kepler&type=gas_giant&discovered_from=2000&sort=mass_earth")
        previous = re.search(r'<a class="page-link" href="([^"#]+)">Previous</a>', page)
        if pages > 1:
            assert html.unescape(previous[1]).startswith(f"/planets?{args}")
        following = re.search(r'<a class="page-link" href="([^"#]+)">Next</a>', page)
        url = following and html.unescape(following[1])
        if url:
            assert url.startswith(f"/planets?{args}&page={pages + 1}&after=")
    # Masses 3, 3, 2, 2, 1, 1 (Kepler-3 b is terrestrial), ties by id the same way.
    assert seen == ["Kepler-5 b", "Kepler-2 b", "Kepler-4 b", "Kepler-1 b", "Kepler-6 b",
                    "Kepler-0 b"]
    assert pages == 3


def test_a_cursor_of_another_sort_gets_a_message(client, catalog, monkeypatch):
    monkeypatch.setattr("console.site.views.PLANETS_PER_PAGE", 2)
    following = re.search(r'<a class="page-link" href="([^"#]+)">Next</a>',
                          client.get("/planets?sort=mass_earth").get_data(as_text=True))
    response = client.get(html.unescape(following[1]).replace("sort=mass_earth", "sort=name"))
    assert response.status_code == 400
    assert "This link is not one of this list&#39;s pages" in response.get_data(as_text=True)


def test_pages_by_number_past_max_offset_get_a_message(client, catalog):
    response = client.get(f"/planets?page={MAX_OFFSET // 25 + 1}")
    assert response.status_code == 400
    assert "Pages by number reach the first 10,000 rows" in response.get_data(as_text=True)
