"""The mission office at work: reviewers decide applications with a note, from an application's
details page or in bulk, and members read the decision on their dashboard and by mail, signed
"the mission office", never by a reviewer's username."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from console import notifications
from console.services import applications
from console.services.transaction import CHANGED_MEANWHILE
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet, User, db
from models.errors import DomainError, Refusal
from tests.conftest import csrf_token_from
from tests.network import free_port
from tests.smtp import mail_parts

REVIEWER = "rex_reviews"  # a username that must never reach a member
REVIEW_URL = "/admin/application/review/"
DEAD_SERVER = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port()}


@pytest.fixture
def member(make_user):
    return make_user("ada_l", email="ada@example.com")


@pytest.fixture
def submitted(app, member, make_planet):
    """Submit an application of ada_l for a new planet: submitted("Kepler-452 b") -> its id."""

    def submit(planet_name: str = "Kepler-452 b", motivation: str = "To see a sun like ours."
               ) -> int:
        planet_id = make_planet(name=planet_name)
        with app.app_context():
            return applications.submit(db.session.get(User, member.id),
                                       db.session.get(Planet, planet_id), motivation).id

    return submit


@pytest.fixture
def reviewer(login_as):
    """An editor's client: (client, user)."""
    return login_as("editor", username=REVIEWER)


def _stored(app, application_id: int) -> MissionApplication:
    with app.app_context():
        application = db.session.get(MissionApplication, application_id)
        db.session.expunge(application)
        return application


def _events(app, application_id: int) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.target_type == "mission_application",
            AuditEvent.target_id == str(application_id)).order_by(AuditEvent.id)).all()
        for event in events:
            db.session.expunge(event)
        return events


def _decisions(mailbox) -> list:
    """The decision mails the loopback SMTP server received (the receipts left out)."""
    return [message for message in mailbox if message["Subject"].startswith("Your application")]


def _decide(client, ids, decision: str, note: str = "", url: str | None = None, **kwargs):
    data = {"id": [str(i) for i in ids], "decision": decision, "review_note": note}
    if url is not None:
        data["url"] = url
    return client.post(REVIEW_URL, data=data, **kwargs)


# --- the details page -------------------------------------------------------------------------

def test_details_page_shows_applicant_planet_motivation_story_and_the_decision_form(
        app, submitted, reviewer, member):
    application_id = submitted(motivation="To see a sun like ours.\nAnd its <b>sky</b>.")
    client, _ = reviewer
    page = client.get(f"/admin/application/details/?id={application_id}").get_data(as_text=True)
    application = _stored(app, application_id)
    assert f'<a href="/admin/user/details/?id={member.id}">ada_l</a>' in page
    assert f'<a href="/admin/planet/details/?id={application.planet_id}">Kepler-452 b</a>' in page
    assert '<div class="text-pre-line">To see a sun like ours.\nAnd its &lt;b&gt;sky&lt;/b&gt;.' \
        in page
    assert re.search(r"UTC: Application submitted by ada_l, from the Member site</li>", page)
    assert f"/admin/application/history/?id={application_id}" in page
    form = page[page.index(f'action="{REVIEW_URL}"'):]
    form = form[:form.index("</form>")]
    assert f'name="id" value="{application_id}"' in form
    assert '<label for="review_note">Review note</label>' in form
    assert 'maxlength="2000"' in form and 'aria-describedby="review_note-help"' in form
    assert "Required to reject; at most 2000 characters." in form
    assert 'name="decision" value="approve"' in form and 'name="decision" value="reject"' in form


def test_viewer_sees_no_decision_form_and_the_endpoint_refuses_them(app, submitted, login_as):
    application_id = submitted()
    client, _ = login_as("viewer")
    page = client.get(f"/admin/application/details/?id={application_id}").get_data(as_text=True)
    assert "To see a sun like ours." in page
    assert REVIEW_URL not in page and 'name="review_note"' not in page
    assert _decide(client, [application_id], "approve").status_code == 403
    assert _decide(client, [application_id], "reject", "No.").status_code == 403
    assert _stored(app, application_id).status == "pending"


def test_an_editor_rejects_from_the_details_page_with_a_note(app, submitted, reviewer):
    application_id = submitted()
    client, editor = reviewer
    details = f"/admin/application/details/?id={application_id}"
    response = _decide(client, [application_id], "reject", "  Not this season.\nTry again.  ",
                       url=details)
    assert response.status_code == 302 and response.location == details
    page = client.get(details).get_data(as_text=True)
    assert "1 application(s) rejected." in page
    assert 'name="review_note"' not in page  # decided: no form any more
    assert "Not this season.\nTry again." in page
    stored = _stored(app, application_id)
    assert (stored.status, stored.reviewed_by_id) == ("rejected", editor.id)
    assert stored.review_note == "Not this season.\nTry again." and stored.reviewed_at
    submit, reject = _events(app, application_id)
    assert (reject.action, reject.actor_username, reject.via) == (
        "application.reject", REVIEWER, "console")
    assert reject.changes["review_note"] == ["", "Not this season.\nTry again."]
    assert reject.changes["status"] == ["pending", "rejected"]


def test_an_approval_needs_no_note_and_goes_back_to_the_details(app, submitted, reviewer):
    application_id = submitted()
    client, _ = reviewer
    response = _decide(client, [application_id], "approve")
    assert response.location == f"/admin/application/details/?id={application_id}"
    stored = _stored(app, application_id)
    assert (stored.status, stored.review_note) == ("approved", "")


@pytest.mark.parametrize(
    ("decision", "note", "message"),
    [
        ("reject", "", "Say why, for the applicant."),
        ("reject", "  \r\n ", "Say why, for the applicant."),
        ("reject", "x" * 2001, "Use at most 2000 characters."),
        ("approve", "x" * 2001, "Use at most 2000 characters."),
    ],
    ids=["no note", "blank note", "long rejection", "long approval"],
)
def test_a_refused_note_shows_next_to_its_field_and_changes_nothing(
        app, submitted, reviewer, decision, note, message):
    application_id = submitted()
    client, _ = reviewer
    response = _decide(client, [application_id], decision, note)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<div class="invalid-feedback" id="review_note-error">{message}</div>' in page
    assert 'class="form-control is-invalid"' in page
    assert 'aria-describedby="review_note-help review_note-error"' in page
    assert "the application of ada_l for Kepler-452 b" in page  # what is being decided
    assert f'value="{application_id}"' in page and f'name="decision" value="{decision}"' in page
    if note.strip():
        assert note in page  # what was typed is kept
    assert _stored(app, application_id).status == "pending"
    assert [event.action for event in _events(app, application_id)] == ["application.submit"]


def test_a_decision_made_meanwhile_is_a_message_not_an_error(app, submitted, reviewer,
                                                             make_user):
    application_id = submitted()
    client, _ = reviewer
    details = f"/admin/application/details/?id={application_id}"
    assert 'name="review_note"' in client.get(details).get_data(as_text=True)
    colleague = make_user("colleague", role="editor")
    with app.app_context():  # while the page is open, a colleague decides
        applications.review([db.session.get(MissionApplication, application_id)],
                            db.session.get(User, colleague.id), ApplicationStatus.REJECTED,
                            "Too late.")
    response = _decide(client, [application_id], "approve", "Welcome aboard.", url=details,
                       follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This application was rejected meanwhile; your decision was not stored." in page
    stored = _stored(app, application_id)
    assert (stored.status, stored.review_note, stored.reviewed_by_id) == (
        "rejected", "Too late.", colleague.id)


def test_a_race_lost_on_the_row_version_is_a_message(app, submitted, reviewer, monkeypatch):
    """Two reviewers store at the same moment: the service's conflict (tests/
    test_application_life_cycle.py) reaches the reviewer as a message."""
    application_id = submitted()
    client, _ = reviewer

    def lost_race(*args, **kwargs):
        raise DomainError.about("id", CHANGED_MEANWHILE, Refusal.CONFLICT)

    monkeypatch.setattr(applications, "review", lost_race)
    response = _decide(client, [application_id], "reject", "No.", follow_redirects=True)
    assert response.status_code == 200
    assert "This record was changed or deleted by someone else meanwhile" in \
        response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"id": "{id}", "decision": "withdraw"}, 400),
        ({"id": "{id}"}, 400),
        ({"id": "99999999", "decision": "approve"}, 404),
        ({"id": "a lot", "decision": "approve"}, 404),
        ({"decision": "approve"}, 404),
    ],
    ids=["not a decision", "no decision", "unknown id", "not an id", "no id"],
)
def test_a_review_post_that_names_nothing_to_decide_is_a_client_error(
        app, submitted, reviewer, data, status):
    application_id = submitted()
    client, _ = reviewer
    response = client.post(REVIEW_URL, data={k: v.format(id=application_id)
                                             for k, v in data.items()})
    assert response.status_code == status
    assert _stored(app, application_id).status == "pending"


def test_the_way_back_after_a_decision_stays_on_this_site(app, submitted, reviewer):
    application_id = submitted()
    client, _ = reviewer
    response = _decide(client, [application_id], "approve", url="https://evil.example/")
    assert response.location == f"/admin/application/details/?id={application_id}"


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_a_decision_without_the_csrf_token_is_refused(app, submitted, make_user):
    application_id = submitted()
    make_user(REVIEWER, role="editor")
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "username": REVIEWER,
                                "password": "correct horse battery"})
    details = client.get(f"/admin/application/details/?id={application_id}").get_data(
        as_text=True)
    assert _decide(client, [application_id], "approve").status_code == 400
    assert _stored(app, application_id).status == "pending"
    response = client.post(REVIEW_URL, data={"csrf_token": csrf_token_from(details),
                                              "id": str(application_id), "decision": "approve"})
    assert response.status_code == 302
    assert _stored(app, application_id).status == "approved"


# --- in bulk ----------------------------------------------------------------------------------

def test_bulk_reject_asks_for_one_note_then_decides_the_pending_ones(app, submitted, reviewer):
    first, second, decided = (submitted("One b"), submitted("Two b"), submitted("Three b"))
    client, editor = reviewer
    _decide(client, [decided], "approve")
    page = client.post("/admin/application/action/", data={
        "action": "reject", "rowid": [str(first), str(second), str(decided)],
        "url": "/admin/application/?flt0_0=pending"}).get_data(as_text=True)
    assert "<h1 class=\"h3\">Reject 2 applications</h1>" in page
    assert "One b" in page and "Two b" in page and "Approved: left as it is" in page
    ids = re.findall(r'name="id" value="(\d+)"', page)
    assert ids == [str(first), str(second)]
    assert 'name="url" value="/admin/application/?flt0_0=pending"' in page
    assert "Reject 2 applications</button>" in page and 'value="approve"' not in page
    assert {_stored(app, i).status for i in (first, second)} == {"pending"}  # not yet

    response = _decide(client, ids, "reject", "The crew is complete.",
                       url="/admin/application/?flt0_0=pending")
    assert response.location == "/admin/application/?flt0_0=pending"
    assert "2 application(s) rejected." in client.get(response.location).get_data(as_text=True)
    for application_id in (first, second):
        stored = _stored(app, application_id)
        assert (stored.status, stored.review_note, stored.reviewed_by_id) == (
            "rejected", "The crew is complete.", editor.id)
        assert _events(app, application_id)[-1].changes["review_note"] == [
            "", "The crew is complete."]


def test_bulk_reject_without_a_note_decides_none(app, submitted, reviewer):
    ids = [submitted("One b"), submitted("Two b")]
    client, _ = reviewer
    response = _decide(client, ids, "reject", " ")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Say why, for the applicant." in page
    assert "Reject 2 applications" in page
    assert re.findall(r'name="id" value="(\d+)"', page) == [str(i) for i in ids]
    assert {_stored(app, i).status for i in ids} == {"pending"}


def test_bulk_approve_with_one_note_and_decisions_made_meanwhile(app, submitted, reviewer):
    ids = [submitted("One b"), submitted("Two b"), submitted("Three b")]
    client, _ = reviewer
    _decide(client, ids[:1], "reject", "Earlier.")
    response = _decide(client, ids, "approve", "Pack light.", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 application(s) approved." in page
    assert "1 application(s) were no longer pending and were left unchanged." in page
    assert [_stored(app, i).review_note for i in ids] == ["Earlier.", "Pack light.",
                                                           "Pack light."]


def test_a_bulk_action_of_nothing_pending_offers_nothing_to_decide(app, submitted, reviewer):
    application_id = submitted()
    client, _ = reviewer
    _decide(client, [application_id], "approve")
    page = client.post("/admin/application/action/", data={
        "action": "reject", "rowid": [str(application_id)]}).get_data(as_text=True)
    assert "Nothing to decide" in page and REVIEW_URL not in page


def test_bulk_actions_are_refused_to_viewers(app, submitted, login_as):
    application_id = submitted()
    client, _ = login_as("viewer")
    for name in ("approve", "reject"):
        assert client.post("/admin/application/action/", data={
            "action": name, "rowid": [str(application_id)]}).status_code == 403


# --- what the member sees ---------------------------------------------------------------------

def test_the_dashboard_shows_the_decision_when_and_the_note_signed_by_the_mission_office(
        app, submitted, reviewer, auth, client):
    rejected, pending = submitted("One b"), submitted("Two b")
    editor_client, _ = reviewer
    _decide(editor_client, [rejected], "reject", "<script>alert(1)</script>\nMaybe next year.")
    decided_at = _stored(app, rejected).reviewed_at
    auth.login("ada_l")
    page = client.get("/").get_data(as_text=True)
    row = page[page.index("One b"):]
    row = row[:row.index("</tr>")]
    assert "Rejected by the mission office on" in row
    assert decided_at.strftime("%d %b %Y, %H:%M UTC") in row
    assert (f'<time datetime="{decided_at.strftime("%Y-%m-%dT%H:%M:%SZ")}">') in row
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nMaybe next year." in row
    assert "<script>alert(1)" not in page
    other = page[page.index("Two b"):]
    assert "Waiting for the mission office" in other[:other.index("</tr>")]
    assert REVIEWER not in page
    assert pending


# --- mails ------------------------------------------------------------------------------------

def test_a_receipt_reaches_the_applicant_when_they_apply(app, member, make_planet, auth, client,
                                                         mailbox):
    make_planet(name="Kepler-452 b")
    auth.login("ada_l")
    response = client.post("/mission-application", data={
        "planet": "Kepler-452 b", "motivation": "To see <a sun> like ours."})
    assert response.status_code == 302
    message = mailbox.one()
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "We received your application for Kepler-452 b"
    text, html = mail_parts(message)
    assert "Hello ada_l," in text and "pending review by the mission office" in text
    assert "To see <a sun> like ours." in text
    assert "To see &lt;a sun&gt; like ours." in html
    assert "http://localhost/" in text.splitlines() and 'href="http://localhost/"' in html


def test_the_decision_mail_tells_the_decision_and_the_note_but_not_the_reviewer(
        app, submitted, reviewer, mailbox):
    application_id = submitted()
    client, _ = reviewer
    _decide(client, [application_id], "reject", "Not this season & <not> this crew.")
    [message] = _decisions(mailbox)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Your application for Kepler-452 b is rejected"
    text, html = mail_parts(message)
    decided_at = _stored(app, application_id).reviewed_at
    assert "The mission office has rejected your application to travel to Kepler-452 b" in text
    assert decided_at.strftime("%d %B %Y at %H:%M UTC") in text
    assert "Not this season & <not> this crew." in text
    assert "Not this season &amp; &lt;not&gt; this crew." in html
    assert "You may apply again" in text
    assert REVIEWER not in message.as_string()


def test_an_approval_mail_without_a_note_and_one_mail_per_applicant(
        app, submitted, reviewer, make_user, make_planet, mailbox):
    first = submitted("One b")
    other = make_user("grace", email="grace@example.com")
    with app.app_context():
        second = applications.submit(db.session.get(User, other.id),
                                     db.session.get(Planet, make_planet(name="Two b")),
                                     "Me too.").id
    client, _ = reviewer
    _decide(client, [first, second], "approve")
    decisions = sorted(_decisions(mailbox), key=lambda message: message["To"])
    assert [(m["To"], m["Subject"]) for m in decisions] == [
        ("ada@example.com", "Your application for One b is approved"),
        ("grace@example.com", "Your application for Two b is approved")]
    text, _ = mail_parts(decisions[0])
    assert "has approved your application" in text and "The note of" not in text
    assert all(REVIEWER not in message.as_string() for message in mailbox)


def test_nothing_is_mailed_for_a_refused_decision_or_an_inactive_applicant(
        app, submitted, reviewer, member, mailbox):
    application_id = submitted()
    client, _ = reviewer
    _decide(client, [application_id], "reject", "")
    assert _decisions(mailbox) == []
    with app.app_context():
        db.session.get(User, member.id).is_active = False
        db.session.commit()
    _decide(client, [application_id], "reject", "Gone.")
    assert _stored(app, application_id).status == "rejected" and _decisions(mailbox) == []


def test_mails_sent_outside_a_request_carry_no_link(app, submitted, client, mailbox):
    application_id = submitted()  # in an app context only, as a job or a command would
    client.get("/login")  # the test client's worker delivers what was queued (conftest.py)
    text, html = mail_parts(mailbox.one())
    assert "on your dashboard." in text and "http" not in text and "href" not in html
    with app.app_context():
        assert notifications.application_decided(application_id) is False  # still pending


@pytest.mark.parametrize("app_config", [DEAD_SERVER])
def test_a_dead_mail_server_breaks_neither_the_application_nor_its_review(
        app, member, make_planet, auth, client, reviewer, caplog):
    make_planet(name="Kepler-452 b")
    auth.login("ada_l")
    with caplog.at_level(logging.ERROR, logger="console.mail"):
        assert client.post("/mission-application", data={
            "planet": "Kepler-452 b", "motivation": "Please."}).status_code == 302
        with app.app_context():
            application_id = db.session.scalar(select(MissionApplication.id))
        editor_client, _ = reviewer
        response = _decide(editor_client, [application_id], "reject", "No.")
    assert response.status_code == 302
    assert _stored(app, application_id).status == "rejected"
    logged = {r.getMessage().split(":")[0] for r in caplog.records if r.name == "console.mail"}
    assert logged == {"The application_received mail was not sent",
                      "The application_decided mail was not sent"}
