"""Mission applications: apply, one pending per planet, withdraw, the astronaut profile."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from console.services import applications as applications_service
from models import ApplicationStatus, MissionApplication, User, db


def _apply(client, planet="Kepler-452 b", motivation="I have always wanted to see it."):
    return client.post("/mission-application", data={"planet": planet, "motivation": motivation})


def _applications(app):
    with app.app_context():
        return db.session.execute(
            select(MissionApplication.applicant_id, MissionApplication.status)).all()


def test_application_needs_login(client):
    response = client.get("/mission-application")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_apply_form_is_prefilled_from_the_planet_page(login_as, make_planet):
    planet_id = make_planet(name="Kepler-452 b")
    client, _ = login_as()
    page = client.get(f"/mission-application?planet={planet_id}").get_data(as_text=True)
    assert 'value="Kepler-452 b"' in page


def test_member_applies_and_sees_it_pending(login_as, make_planet, app):
    make_planet(name="Kepler-452 b")
    client, user = login_as()
    response = _apply(client, planet="kepler-452 B")
    assert response.status_code == 302
    assert _applications(app) == [(user.id, "pending")]
    dashboard = client.get("/").get_data(as_text=True)
    assert "Kepler-452 b" in dashboard and "pending" in dashboard and "Withdraw" in dashboard


@pytest.mark.parametrize(
    ("planet", "motivation", "message"),
    [
        ("Nowhere b", "Let me go.", "There is no planet of that name in the catalog."),
        ("", "Let me go.", "This field is required."),
        ("Kepler-452 b", "", "Tell us why you want to go."),
        ("Kepler-452 b", "   ", "Tell us why you want to go."),
        ("Kepler-452 b", "x" * 2001, "Field cannot be longer than 2000 characters."),
    ],
)
def test_bad_applications_are_refused_with_a_message(login_as, make_planet, app, planet,
                                                     motivation, message):
    make_planet(name="Kepler-452 b")
    client, _ = login_as()
    response = _apply(client, planet, motivation)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _applications(app) == []


def test_second_pending_application_for_a_planet_is_refused(login_as, make_planet, app):
    make_planet(name="Kepler-452 b")
    client, user = login_as()
    _apply(client)
    response = _apply(client)
    assert response.status_code == 200
    assert "already have a pending application for Kepler-452 b" in response.get_data(as_text=True)
    assert _applications(app) == [(user.id, "pending")]


def test_the_database_refuses_a_racing_duplicate(login_as, make_planet, app, monkeypatch):
    """A request that passes the look-up while another has stored the same application."""
    make_planet(name="Kepler-452 b")
    client, user = login_as()
    assert _apply(client).status_code == 302
    monkeypatch.setattr(applications_service, "has_pending_application", lambda *args: False)
    response = _apply(client)
    assert response.status_code == 200
    assert "already have a pending application" in response.get_data(as_text=True)
    assert _applications(app) == [(user.id, "pending")]


def test_another_member_may_apply_for_the_same_planet(login_as, make_planet, app):
    make_planet(name="Kepler-452 b")
    first, _ = login_as()
    second, _ = login_as()
    assert _apply(first).status_code == 302 and _apply(second).status_code == 302
    assert len(_applications(app)) == 2


def _only_application_id(app):
    with app.app_context():
        return db.session.scalar(select(MissionApplication.id))


def test_withdraw_then_apply_again(login_as, make_planet, app):
    make_planet(name="Kepler-452 b")
    client, user = login_as()
    _apply(client)
    response = client.post(f"/mission-application/{_only_application_id(app)}/withdraw")
    assert response.status_code == 302
    assert _applications(app) == [(user.id, "withdrawn")]
    assert "Withdraw<" not in client.get("/").get_data(as_text=True)
    assert _apply(client).status_code == 302
    assert sorted(status for _, status in _applications(app)) == ["pending", "withdrawn"]


def test_withdraw_is_post_only(login_as, make_planet, app):
    make_planet(name="Kepler-452 b")
    client, _ = login_as()
    _apply(client)
    withdraw_url = f"/mission-application/{_only_application_id(app)}/withdraw"
    assert client.get(withdraw_url).status_code == 405


def test_cannot_withdraw_someone_elses_application(login_as, make_planet, app):
    make_planet(name="Kepler-452 b")
    owner, owner_user = login_as()
    _apply(owner)
    intruder, _ = login_as()
    response = intruder.post(f"/mission-application/{_only_application_id(app)}/withdraw")
    assert response.status_code == 404
    assert _applications(app) == [(owner_user.id, "pending")]


def test_cannot_withdraw_a_reviewed_application(login_as, make_planet, make_user, app):
    make_planet(name="Kepler-452 b")
    client, user = login_as()
    _apply(client)
    reviewer = make_user(role="editor")
    with app.app_context():
        application = db.session.get(MissionApplication, _only_application_id(app))
        applications_service.review([application], db.session.get(User, reviewer.id),
                                    ApplicationStatus.APPROVED)
    response = client.post(f"/mission-application/{_only_application_id(app)}/withdraw",
                           follow_redirects=True)
    assert "This application is already approved." in response.get_data(as_text=True)
    assert _applications(app) == [(user.id, "approved")]


def test_review_records_reviewer_and_refuses_a_second_decision(make_user, make_planet, app):
    member, reviewer = make_user(), make_user(role="editor")
    planet_id = make_planet()
    with app.app_context():
        application = MissionApplication(applicant_id=member.id, planet_id=planet_id,
                                         motivation="Please.")
        db.session.add(application)
        db.session.commit()
        reviewer = db.session.get(User, reviewer.id)
        applications_service.review([application], reviewer, ApplicationStatus.REJECTED,
                                    "Not this time.")
        assert application.reviewed_by_id == reviewer.id and application.reviewed_at
        assert applications_service.review([application], reviewer,
                                           ApplicationStatus.APPROVED) == (0, 1)
        assert application.status == "rejected"


def test_astronaut_profile_shows_approved_missions_and_no_private_data(
        login_as, make_user, make_planet, app):
    astronaut = make_user("ada_l", email="ada.private@example.com")
    approved_id = make_planet(name="Kepler-452 b")
    pending_id = make_planet(name="TRAPPIST-1 e")
    reviewer = make_user(role="editor")
    with app.app_context():
        for planet_id in (approved_id, pending_id):
            db.session.add(MissionApplication(applicant_id=astronaut.id, planet_id=planet_id,
                                              motivation="My private reasons."))
        db.session.commit()
        application = db.session.scalar(select(MissionApplication).where(
            MissionApplication.planet_id == approved_id))
        applications_service.review([application], db.session.get(User, reviewer.id),
                                    ApplicationStatus.APPROVED)
    client, _ = login_as()
    page = client.get("/astronaut/ADA_L").get_data(as_text=True)
    assert "Astronaut ada_l" in page and "Member since" in page
    assert "Kepler-452 b" in page and "TRAPPIST-1 e" not in page
    assert "ada.private@example.com" not in page and "My private reasons." not in page


def test_astronaut_profile_needs_login_and_known_user(client, login_as, make_user):
    make_user("ada_l")
    assert client.get("/astronaut/ada_l").status_code == 302
    member, _ = login_as()
    assert member.get("/astronaut/nobody").status_code == 404


def test_the_database_refuses_to_delete_a_user_with_applications(make_user, make_planet, app):
    member = make_user()
    planet_id = make_planet()
    with app.app_context():
        db.session.add(MissionApplication(applicant_id=member.id, planet_id=planet_id,
                                          motivation="Go."))
        db.session.commit()
        db.session.delete(db.session.get(User, member.id))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count(MissionApplication.id))) == 1
