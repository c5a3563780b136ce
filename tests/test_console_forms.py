"""Forms, row buttons and error pages that every user can perceive and operate: errors and help
tied to their fields, the first invalid field focused after a failed save, row buttons named
after their record, valid markup, console error pages inside the console, honest headers."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from flask import Flask, abort

from console.auth.views import LOGIN_FAILED
from models import ApiToken, AuditEvent, Job, MissionApplication, Planet, User, db
from tests.conftest import PLANET

# --- reading the markup --------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag of a page as (tag, attributes), attributes without a value as ""."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str, tag: str | None = None, **wanted: str) -> list[dict[str, str]]:
    """The attributes of each element of `tag` whose attributes hold `wanted` (aria_label for
    aria-label)."""
    wanted = {name.replace("_", "-"): value for name, value in wanted.items()}
    return [attrs for found, attrs in Elements(html).found
            if (tag is None or found == tag)
            and all(attrs.get(name) == value for name, value in wanted.items())]


def field(html: str, field_id: str) -> dict[str, str]:
    (attrs,) = [attrs for _, attrs in Elements(html).found if attrs.get("id") == field_id
                and _ in ("input", "select", "textarea")]
    return attrs


def autofocused(html: str) -> list[str]:
    return [attrs.get("id", "") for _, attrs in Elements(html).found if "autofocus" in attrs]


def assert_described_by(html: str, attrs: dict[str, str], *ids: str) -> None:
    """The field names exactly `ids` in aria-describedby, and each id is on the page once."""
    assert attrs.get("aria-describedby", "").split() == list(ids)
    for element_id in ids:
        assert len(elements(html, id=element_id)) == 1, element_id


@pytest.fixture
def admin(login_as):
    client, _ = login_as("admin", username="root")
    return client


@pytest.fixture
def editor(login_as):
    client, _ = login_as("editor", username="eddie")
    return client


PLANET_FORM = {"name": "", "planet_type": "gas_giant", "host_star": "Nowhere",
               "discovery_year": "2020", "discovery_method": "transit", "mass_earth": "heavy"}


# --- console forms ---------------------------------------------------------------------------


def test_a_failed_console_save_ties_each_error_to_its_field_and_focuses_the_first(editor):
    page = editor.post("/admin/planet/new/", data=PLANET_FORM).get_data(as_text=True)
    name, mass = field(page, "name"), field(page, "mass_earth")
    assert name["aria-invalid"] == mass["aria-invalid"] == "true"
    assert_described_by(page, name, "name-error")
    assert_described_by(page, mass, "mass_earth-error")
    assert "must be a number" in page.split('id="mass_earth-error"')[1].split("</div>")[0]
    assert autofocused(page) == ["name"]  # the first invalid field, and only that one
    assert "aria-invalid" not in field(page, "host_star")


def test_console_help_text_is_tied_to_its_field_with_or_without_an_error(admin):
    page = admin.get("/admin/user/new/").get_data(as_text=True)
    password = field(page, "new_password")
    assert_described_by(page, password, "new_password-help")
    assert "aria-invalid" not in password and autofocused(page) == []

    failed = admin.post("/admin/user/new/", data={"username": "grace", "role": "member",
                                                  "email": "grace@example.com"})
    page = failed.get_data(as_text=True)
    password = field(page, "new_password")
    assert password["aria-invalid"] == "true"
    assert_described_by(page, password, "new_password-error", "new_password-help")
    assert autofocused(page) == ["new_password"]


def test_a_failed_edit_focuses_its_invalid_field(editor, make_planet):
    planet_id = make_planet(name="Kepler-452 b")
    page = editor.post(f"/admin/planet/edit/?id={planet_id}",
                       data={**PLANET_FORM, "name": "Kepler-452 b", "discovery_year": "3000"})
    html = page.get_data(as_text=True)
    assert field(html, "discovery_year")["aria-invalid"] == "true"
    assert autofocused(html) == ["discovery_year"]


def test_the_users_form_keeps_the_browsers_saved_login_out(admin):
    page = admin.get("/admin/user/new/").get_data(as_text=True)
    assert field(page, "new_password")["autocomplete"] == "new-password"
    assert field(page, "username")["autocomplete"] == "off"


@pytest.mark.parametrize("path", ["/admin/planet/new/", "/admin/planet/edit/?id={id}",
                                  "/admin/user/new/", "/admin/user/edit/?id={user}"])
def test_console_forms_post_to_their_own_address_and_cancel_is_no_danger(
        admin, make_planet, make_user, path):
    url = path.format(id=make_planet(), user=make_user("ada").id)
    page = admin.get(url).get_data(as_text=True)
    (form,) = elements(page, "form", **{"class": "admin-form"})
    assert "action" not in form  # vnu: an empty action is an error; none posts to the page
    assert 'action=""' not in page
    (cancel,) = re.findall(r'<a href="[^"]*" class="([^"]*)">Cancel</a>', page)
    assert "btn-danger" not in cancel


def _application(app, make_user, make_planet) -> int:
    member = make_user("marta")
    with app.app_context():
        application = MissionApplication(applicant_id=member.id,
                                         planet_id=make_planet(name="Proxima Centauri b"),
                                         motivation="To see it.")
        db.session.add(application)
        db.session.commit()
        return application.id


def test_a_refused_review_note_is_tied_to_its_field_and_focused(login_as, make_user,
                                                                make_planet, app):
    application_id = _application(app, make_user, make_planet)
    client, _ = login_as("editor")
    response = client.post("/admin/application/review/",
                           data={"decision": "reject", "id": str(application_id),
                                 "url": f"/admin/application/details/?id={application_id}"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    note = field(page, "review_note")
    assert note["aria-invalid"] == "true"
    assert_described_by(page, note, "review_note-help", "review_note-error")
    assert autofocused(page) == ["review_note"]


# --- the site's forms -----------------------------------------------------------------------


def test_a_failed_registration_ties_errors_to_fields_and_focuses_the_first(client):
    page = client.post("/register", data={"username": "x", "email": "nope",
                                          "password": "short", "confirm": "other"})
    html = page.get_data(as_text=True)
    username = field(html, "username")
    assert username["aria-invalid"] == "true"
    assert_described_by(html, username, "username-errors")
    assert autofocused(html) == ["username"]


def test_the_site_help_text_is_tied_to_its_field(client):
    page = client.get("/register").get_data(as_text=True)
    assert_described_by(page, field(page, "username"), "username-help")
    assert autofocused(page) == []


def test_a_failed_login_lands_on_the_username(client, make_user):
    make_user("ada")
    page = client.post("/login", data={"username": "ada", "password": "wrong password!"})
    html = page.get_data(as_text=True)
    assert LOGIN_FAILED in html
    assert autofocused(html) == ["username"]
    assert "aria-invalid" not in field(html, "username")  # which of the two is wrong is unsaid


def test_a_failed_application_focuses_the_planet_and_names_no_autocomplete(login_as):
    client, _ = login_as("member", username="mia")
    page = client.get("/mission-application").get_data(as_text=True)
    assert 'autocomplete="None"' not in page and "autocomplete" not in field(page, "planet")
    failed = client.post("/mission-application", data={"planet": "", "motivation": ""})
    html = failed.get_data(as_text=True)
    assert field(html, "planet")["aria-invalid"] == "true"
    assert autofocused(html) == ["planet"]


# --- row buttons named after their record ---------------------------------------------------


def test_planet_row_buttons_are_named_after_the_planet(editor, make_planet):
    make_planet(name="Kepler-452 b")
    page = editor.get("/admin/planet/").get_data(as_text=True)
    for tag, name in (("a", "View Kepler-452 b"), ("a", "Edit Kepler-452 b"),
                      ("button", "Delete Kepler-452 b"), ("input", "Select Kepler-452 b")):
        assert len(elements(page, tag, aria_label=name)) == 1, name
    rows = page.split("</thead>")[1].split("</table>")[0]
    assert "Record" not in rows


def test_user_application_and_other_rows_are_named_for_people(admin, app, make_user, make_planet):
    application_id = _application(app, make_user, make_planet)
    users = admin.get("/admin/user/").get_data(as_text=True)
    assert elements(users, "a", aria_label="Edit marta")
    assert elements(users, "button", aria_label="Delete marta")
    applications = admin.get("/admin/application/").get_data(as_text=True)
    assert elements(applications, "a", aria_label=f"View application {application_id} "
                                                  "(marta, Proxima Centauri b)")


@pytest.mark.parametrize(("model", "label"), [
    (Planet, "Kepler-452 b"), (User, "ada"),
    (ApiToken, "token laptop of ada"), (Job, "job 7 (Mail to ada)"), (AuditEvent, "audit event 9"),
])
def test_each_view_names_its_records(app, model, label):
    admin = app.extensions["admin"][0]
    (view,) = [view for view in admin._views if getattr(view, "model", None) is model]
    ada = User(id=3, username="ada")
    record = {Planet: Planet(id=1, **PLANET), User: ada,
              ApiToken: ApiToken(id=2, name="laptop", user=ada),
              Job: Job(id=7, title="Mail to ada"), AuditEvent: AuditEvent(id=9)}[model]
    assert view.record_label(record) == label


@pytest.mark.parametrize(("query", "order"), [("sort=0", "ascending"),
                                              ("sort=0&desc=1", "descending")])
def test_the_sorted_column_says_its_order_and_its_link_turns_it_round(editor, make_planet,
                                                                      query, order):
    make_planet(name="Kepler-452 b", planet_type="super_earth")
    page = editor.get(f"/admin/planet/?{query}&search=kepler&flt0_0=super_earth").get_data(
        as_text=True)
    assert "Kepler-452 b" in page  # found by the search, kept by the type filter
    head = page.split("<thead>")[1].split("</thead>")[0]
    headers = elements(head, "th", scope="col")
    assert len(headers) == head.count("<th") - 1  # all but the select-all checkbox's
    assert [cell["aria-sort"] for cell in headers if "aria-sort" in cell] == [order]
    links = [html.unescape(attrs["href"]) for attrs in elements(head, "a")]
    name, *others = [link for link in links if "sort=" in link]
    assert "sort=0&" in name and "search=kepler" in name and "flt0_0=super_earth" in name
    assert ("desc=1" in name) == (order == "ascending")  # the other way round
    assert others and all("desc=" not in link and "search=kepler" in link
                          and "flt0_0=super_earth" in link for link in others)
    assert elements(head, "a", title="Sort by Host star")


def test_an_empty_list_spans_every_column(editor):
    page = editor.get("/admin/planet/").get_data(as_text=True)
    head = page.split("<thead>")[1].split("</thead>")[0]
    columns = head.count("<th")
    (cell,) = [attrs for attrs in elements(page, "td") if "colspan" in attrs]
    assert int(cell["colspan"]) == columns > 5
    assert elements(head, "span", **{"class": "sr-only"})  # the buttons' column has a name


def test_history_and_details_name_the_record_and_head_each_row(admin, make_user):
    ada = make_user("ada")
    history = admin.get(f"/admin/user/history/?id={ada.id}").get_data(as_text=True)
    assert "History of ada</h1>" in history
    details = admin.get(f"/admin/user/details/?id={ada.id}").get_data(as_text=True)
    assert re.search(r'<th scope="row">Username</th>\s*<td>\s*ada', details)


# --- error pages and headers ----------------------------------------------------------------

def test_a_console_404_keeps_the_console_navigation(admin):
    response = admin.get("/admin/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'aria-label="Console"' in page and 'href="/admin/planet/"' in page
    assert "There is nothing at this address." in page
    assert "Back to the console" in page


def test_a_console_403_keeps_the_console_navigation(login_as):
    viewer, _ = login_as("viewer")
    response = viewer.get("/admin/user/new/")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'aria-label="Console"' in page and 'href="/admin/planet/"' in page
    assert "You do not have permission" in page


def test_who_may_not_use_the_console_gets_the_sites_error_page(login_as):
    member, _ = login_as("member")
    response = member.get("/admin/no-such-page")
    assert response.status_code == 404
    assert 'aria-label="Console"' not in response.get_data(as_text=True)
    assert member.get("/admin/").status_code == 403


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/no-such-page", 404), ("POST", "/login", 200), ("GET", "/api/planets", 200),
    ("GET", "/api/planets/999", 404)])
def test_no_retry_after_on_answers_that_ask_for_no_retry(client, method, path, status):
    """The rate limiter's headers come with every answer of a limited address (a login, the
    API); Retry-After only belongs to 429 and 503."""
    form = {"username": "x", "password": "y"} if method == "POST" else None
    response = client.open(path, method=method, data=form)
    assert response.status_code == status
    assert "Retry-After" not in response.headers
    if status == 200:
        assert "X-RateLimit-Limit" in response.headers  # the limiter did answer


def test_no_retry_after_on_a_console_refusal(login_as):
    member, _ = login_as("member")
    response = member.get("/admin/")
    assert response.status_code == 403 and "Retry-After" not in response.headers


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_LIMIT": "1 per minute"}])
def test_a_429_still_says_when_to_retry(client, app_config):
    client.post("/login", data={"username": "x", "password": "y"})
    response = client.post("/login", data={"username": "x", "password": "y"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_the_500_page_promises_nothing_the_product_does_not_do(app: Flask, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        abort(500)

    page = client.get("/boom").get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "notified" not in page and "team" not in page.lower().split("<main")[1]
