"""The console's CSV import: editors and admins upload a file, read its dry run (rows to add,
rows to update with the fields that change, invalid rows with their lines and messages), then
apply it all or nothing, each change audited per planet; a large file is checked and applied
by a job, whose page shows its progress and then the same report."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from console.jobs import queue
from console.services import jobs
from models import AuditEvent, ImportFile, ImportFileChunk, Job, Planet, db
from tests.conftest import PASSWORD, csrf_token_from
from tests.test_import_export import BAD_MASS, BAD_TWO, GOOD_1, GOOD_2, HEADER

IMPORT = "/admin/planet/import/"
APPLY = "/admin/planet/import/apply/"


def _upload(client, *lines: str, name: str = "planets.csv", update: bool = False, **kwargs):
    body = ("\n".join([HEADER, *lines]) + "\n").encode()
    data = {"file": (io.BytesIO(body), name)}
    if update:
        data["update"] = "y"
    return client.post(IMPORT, data=data, content_type="multipart/form-data", **kwargs)


def _planets(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Planet.name)))


def _key(app) -> str:
    with app.app_context():
        return db.session.scalar(select(ImportFile.key).order_by(ImportFile.id.desc()))


def test_dry_run_lists_additions_updates_and_invalid_rows_and_stores_nothing(login_as, app,
                                                                             make_planet):
    make_planet(name="Beta c", mass_earth=4.0)
    client, _ = login_as("editor")
    response = _upload(client, GOOD_1, GOOD_2, BAD_MASS, BAD_TWO, update=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Dry run of planets.csv" in page
    assert "4 row(s) read: 1 to add, 1 to update" in page and "2 invalid." in page
    assert "<td>4</td>" in page and "Gamma d" in page  # the line and the name of a bad row
    assert "Mass" in page and "5.1" in page  # the field that changes, before and after
    assert "importing this file would store nothing" in page
    assert "Apply:" not in page  # a file with invalid rows cannot be applied
    assert _planets(app) == {"Beta c"}


def test_a_clean_file_is_applied_all_at_once_each_planet_audited(login_as, app, make_planet):
    make_planet(name="Beta c", mass_earth=4.0)
    client, editor = login_as("editor", username="eddie")
    page = _upload(client, GOOD_1, GOOD_2, update=True).get_data(as_text=True)
    assert "Apply: add 1, update 1</button>" in page
    assert _planets(app) == {"Beta c"}  # nothing before the apply
    response = client.post(APPLY, data={"key": _key(app), "update": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Imported planets.csv" in page
    assert "2 row(s) read: 1 added, 1 updated" in page
    assert _planets(app) == {"Alpha b", "Beta c"}
    with app.app_context():
        assert db.session.scalar(select(Planet.mass_earth).where(Planet.name == "Beta c")) == 5.1
        events = db.session.execute(select(AuditEvent.action, AuditEvent.via,
                                           AuditEvent.via_detail, AuditEvent.actor_username)
                                    .where(AuditEvent.target_type == "planet")
                                    .order_by(AuditEvent.id)).all()
        assert events[-2:] == [
            ("planet.create", "import", "planets.csv (console)", "eddie"),
            ("planet.update", "import", "planets.csv (console)", "eddie")]
        # The file goes with its apply: applying it again finds nothing.
        assert db.session.scalar(select(func.count()).select_from(ImportFile)) == 0
        assert db.session.scalar(select(func.count()).select_from(ImportFileChunk)) == 0
    again = client.post(APPLY, data={"key": "x" * 43}, follow_redirects=True)
    assert "This file is no longer here" in again.get_data(as_text=True)


def test_a_file_fixed_after_its_dry_run_is_checked_again_then_applied(login_as, app):
    client, _ = login_as("editor")
    assert "Apply:" not in _upload(client, GOOD_1, BAD_MASS).get_data(as_text=True)
    fixed = BAD_MASS.replace(",-3,", ",3,")
    assert "Apply: add 2, update 0" in _upload(client, GOOD_1, fixed).get_data(as_text=True)
    client.post(APPLY, data={"key": _key(app), "update": ""})
    assert _planets(app) == {"Alpha b", "Gamma d"}


def test_an_apply_judges_the_catalog_as_it_is_then(login_as, app, make_planet):
    """The catalog can change between the dry run and the apply: the apply judges again."""
    client, _ = login_as("editor")
    _upload(client, GOOD_1, GOOD_2)
    make_planet(name="Alpha b")  # stored meanwhile: left as it is, without "update"
    page = client.post(APPLY, data={"key": _key(app)}).get_data(as_text=True)
    assert "1 added" in page and "1 already in the catalog" in page
    assert _planets(app) == {"Alpha b", "Beta c"}


@pytest.mark.parametrize(("body", "message"), [
    (b"", "this file is empty"),
    (b"name,mass\nAlpha b,1\n", "planets.csv:"),
    (b"\xff\xfe\x00binary", "planets.csv:"),
])
def test_a_file_that_is_not_an_export_gets_a_field_error_and_is_not_kept(login_as, app, body,
                                                                         message):
    client, _ = login_as("editor")
    response = client.post(IMPORT, data={"file": (io.BytesIO(body), "planets.csv")},
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="file-error"' in page and message in page and 'aria-invalid="true"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportFile)) == 0


def test_no_file_chosen_is_a_field_error(login_as):
    client, _ = login_as("editor")
    page = client.post(IMPORT, data={}).get_data(as_text=True)
    assert "Choose a CSV file to check." in page


def test_a_file_is_applied_by_its_uploader_only(login_as, app):
    client, _ = login_as("editor", username="eddie")
    _upload(client, GOOD_1)
    other, _ = login_as("admin", username="ann")
    response = other.post(APPLY, data={"key": _key(app)}, follow_redirects=True)
    assert "This file is no longer here" in response.get_data(as_text=True)
    assert _planets(app) == set()


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("viewer", 403),
                                              ("editor", 200), ("admin", 200)])
def test_editors_and_admins_import_others_are_refused(login_as, app, role, status):
    client, _ = login_as(role)
    assert client.get(IMPORT).status_code == status
    assert _upload(client, GOOD_1).status_code == status
    assert client.post(APPLY, data={"key": "x"}).status_code == (302 if status == 200 else 403)
    list_page = client.get("/admin/planet/").get_data(as_text=True)
    assert ('href="/admin/planet/import/"' in list_page) == (status == 200)
    assert _planets(app) == set()


def test_anonymous_visitors_go_to_the_login_page(client):
    for response in (client.get(IMPORT), _upload(client, GOOD_1),
                     client.get("/admin/planet/import/job/1/")):
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.fixture
def app_config() -> dict:
    return {"MAX_CONTENT_LENGTH": 2000}


def test_an_import_may_be_larger_than_other_requests_for_importers_only(login_as, app):
    rows = [GOOD_2.replace("Beta c", f"Beta {number} c") for number in range(60)]  # > 2000 B
    client, _ = login_as("editor")
    assert "Apply: add 60" in _upload(client, *rows).get_data(as_text=True)
    viewer, _ = login_as("viewer")
    assert _upload(viewer, *rows).status_code == 413
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportFile)) == 1


# --- large files: a job ------------------------------------------------------------------------


@pytest.fixture
def by_job(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_JOB_THRESHOLD", 0)


def _plain_client(app, username: str):
    """A client whose jobs wait for a worker (WorkingClient runs them after each request)."""
    client = FlaskClient(app)
    client.post("/login", data={"username": username, "password": PASSWORD})
    return client


def test_a_large_file_is_checked_by_a_job_whose_page_shows_progress_then_the_report(
        login_as, app, by_job):
    _, editor = login_as("editor", username="eddie")
    client = _plain_client(app, "eddie")
    response = _upload(client, GOOD_1, GOOD_2)
    assert response.status_code == 302
    job_url = response.headers["Location"]
    page = client.get(job_url).get_data(as_text=True)
    assert "Check of planets.csv" in page and "<progress" in page
    assert "Waiting for a worker" in page
    progress_url = f"{job_url}progress"
    assert client.get(progress_url).get_json() == {"state": "queued", "done": 0, "total": None,
                                                  "percent": 0}
    with app.app_context():
        job = db.session.scalar(select(Job).order_by(Job.id.desc()))
        job.state = "running"
        db.session.commit()
        queue().set_progress(job.id, 30, 120)
    assert client.get(progress_url).get_json()["percent"] == 25
    assert "25% of the file read" in client.get(job_url).get_data(as_text=True)
    with app.app_context():
        job = db.session.get(Job, job.id)
        job.state = "queued"
        db.session.commit()
        queue().run_pending()
    assert client.get(progress_url).get_json()["state"] == "done"
    report = client.get(job_url).get_data(as_text=True)
    assert "Dry run of planets.csv" in report and "Apply: add 2, update 0" in report
    assert _planets(app) == set()


def test_a_large_file_is_applied_by_a_job_with_the_same_report(login_as, app, by_job):
    client, _ = login_as("editor", username="eddie")
    job_url = _upload(client, GOOD_1, GOOD_2).headers["Location"]  # the job ran after it
    assert "Apply: add 2, update 0" in client.get(job_url).get_data(as_text=True)
    response = client.post(APPLY, data={"key": _key(app)})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported planets.csv" in page and "2 added" in page
    assert _planets(app) == {"Alpha b", "Beta c"}
    with app.app_context():
        job = db.session.scalar(select(Job).order_by(Job.id.desc()))
        assert job.title == "Import of planets.csv" and job.payload == {}
        assert db.session.scalar(select(func.count()).select_from(ImportFile)) == 0


def test_a_job_that_meets_a_bad_file_says_why(login_as, app, by_job):
    client, _ = login_as("editor")
    response = client.post(IMPORT, data={"file": (io.BytesIO(b"name\nx\n"), "odd.csv")},
                           content_type="multipart/form-data")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="file-error"' in page and "odd.csv:" in page


def test_an_import_job_is_seen_by_its_uploader_only(login_as, app, by_job):
    client, _ = login_as("editor", username="eddie")
    job_url = _upload(client, GOOD_1).headers["Location"]
    other, _ = login_as("admin", username="ann")
    assert other.get(job_url).status_code == 404
    assert other.get(f"{job_url}progress").status_code == 404
    with app.app_context():  # a job of another kind is no import page
        mail_job = jobs.submit("mail", {}, "Mail").id
    assert client.get(f"/admin/planet/import/job/{mail_job}/").status_code == 404
    assert client.get(f"/admin/planet/import/job/{2**63}/progress").status_code == 404


def test_the_shown_name_of_an_upload_has_no_folders_or_control_characters(login_as, app):
    client, _ = login_as("editor")
    page = _upload(client, GOOD_1, name="home/eddie/new\x07 planets.csv").get_data(
        as_text=True)
    assert "Dry run of new planets.csv" in page
    with app.app_context():
        assert db.session.scalar(select(ImportFile.filename)) == "new planets.csv"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_an_upload_or_apply_without_the_csrf_token_is_refused(app, make_user):
    make_user("eddie", role="editor")
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "username": "eddie",
                                "password": PASSWORD})
    assert _upload(client, GOOD_1).status_code == 400
    page = client.get(IMPORT).get_data(as_text=True)
    body = ("\n".join([HEADER, GOOD_1]) + "\n").encode()
    checked = client.post(IMPORT, content_type="multipart/form-data", data={
        "csrf_token": csrf_token_from(page), "file": (io.BytesIO(body), "planets.csv")})
    assert "Apply: add 1" in checked.get_data(as_text=True)
    assert client.post(APPLY, data={"key": _key(app)}).status_code == 400
    assert _planets(app) == set()
    applied = client.post(APPLY, data={"key": _key(app), "csrf_token": csrf_token_from(
        checked.get_data(as_text=True))})
    assert applied.status_code == 200 and _planets(app) == {"Alpha b"}
