"""The mission application life cycle: one table of transitions, who may make each, what each
records, held by the applications service and by the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from console.services import applications
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet, User, db
from models.applications import Transition
from models.errors import DomainError, Refusal

S = ApplicationStatus
ALLOWED = {(S.PENDING, S.APPROVED): Transition.REVIEW, (S.PENDING, S.REJECTED): Transition.REVIEW,
           (S.PENDING, S.WITHDRAWN): Transition.WITHDRAW}


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_only_pending_applications_move_and_only_once(before, after):
    application = MissionApplication(status=before.value)
    assert application.transition_to(after) is ALLOWED.get((before, after))


@pytest.fixture
def people(app, make_user, make_planet):
    """(member id, reviewer id, other member id, planet id)."""
    return (make_user().id, make_user(role="editor").id, make_user().id,
            make_planet(name="Kepler-452 b"))


def _submit(member_id: int, planet_id: int) -> MissionApplication:
    return applications.submit(db.session.get(User, member_id), db.session.get(Planet, planet_id),
                               "To see it.")


def _actions(target_id: int) -> list[tuple[str, str, dict]]:
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.target_type == "mission_application",
        AuditEvent.target_id == str(target_id)).order_by(AuditEvent.id))
    return [(event.action, event.via, event.changes) for event in events]


def test_submit_review_and_withdraw_are_audited_with_before_and_after(app, people):
    member, reviewer, _, planet = people
    with app.app_context():
        first = _submit(member, planet)
        applications.review([first], db.session.get(User, reviewer), S.REJECTED, " Not now. ")
        second = _submit(member, planet)
        applications.withdraw(second, db.session.get(User, member))
        submit, reject = _actions(first.id)
        assert submit == ("application.submit", "site", {
            "planet": [None, "Kepler-452 b"], "motivation": [None, "To see it."],
            "status": [None, "pending"]})
        action, via, changes = reject
        assert (action, via) == ("application.reject", "console")
        assert changes["status"] == ["pending", "rejected"]
        assert changes["review_note"] == ["", "Not now."]
        assert changes["reviewed_by"][1] == db.session.get(User, reviewer).username
        assert changes["reviewed_at"][0] is None and changes["reviewed_at"][1]
        assert _actions(second.id)[-1] == ("application.withdraw", "site",
                                           {"status": ["pending", "withdrawn"]})


def test_nothing_leaves_a_final_state(app, people):
    member, reviewer, _, planet = people
    with app.app_context():
        application = _submit(member, planet)
        applications.withdraw(application, db.session.get(User, member))
        with pytest.raises(DomainError, match="already withdrawn") as refused:
            applications.withdraw(application, db.session.get(User, member))
        assert refused.value.kind is Refusal.CONFLICT
        assert applications.review([application], db.session.get(User, reviewer),
                                   S.APPROVED) == (0, 1)
        assert application.status == "withdrawn" and application.reviewed_at is None


def test_only_reviewers_review_and_only_the_applicant_withdraws(app, people):
    member, _, other, planet = people
    with app.app_context():
        application = _submit(member, planet)
        with pytest.raises(DomainError, match="Only reviewers"):
            applications.review([application], db.session.get(User, other), S.APPROVED)
        with pytest.raises(DomainError, match="no such application") as refused:
            applications.withdraw(application, db.session.get(User, other))
        assert refused.value.kind is Refusal.MISSING
        with pytest.raises(DomainError, match="approves or rejects"):
            applications.review([application], db.session.get(User, people[1]), S.WITHDRAWN)
        assert db.session.get(MissionApplication, application.id).status == "pending"


@pytest.mark.parametrize(
    ("status", "note", "message"),
    [
        (S.REJECTED, "", "Say why, for the applicant."),
        (S.REJECTED, " \n\t ", "Say why, for the applicant."),
        (S.APPROVED, "x" * 2001, "Use at most 2000 characters."),
        (S.REJECTED, "x" * 2001, "Use at most 2000 characters."),
    ],
    ids=["reject without note", "reject with blank note", "long approval", "long rejection"],
)
def test_a_review_note_the_rules_refuse_stores_nothing(app, people, status, note, message):
    member, reviewer, _, planet = people
    with app.app_context():
        application = _submit(member, planet)
        with pytest.raises(DomainError, match=message) as refused:
            applications.review([application], db.session.get(User, reviewer), status, note)
        assert refused.value.fields == {"review_note": [message]}
        db.session.expire_all()
        assert db.session.get(MissionApplication, application.id).status == "pending"
        assert [a for a, _, _ in _actions(application.id)] == ["application.submit"]


def test_an_approval_needs_no_note_and_a_note_is_stored_stripped(app, people):
    member, reviewer, _, planet = people
    with app.app_context():
        first = _submit(member, planet)
        assert applications.review([first], db.session.get(User, reviewer), S.APPROVED) == (1, 0)
        assert first.review_note == ""
        second = applications.submit(db.session.get(User, member),
                                     db.session.get(Planet, planet), "Again.")
        applications.review([second], db.session.get(User, reviewer), S.APPROVED,
                            "  Pack light.\n")
        assert second.review_note == "Pack light."


@pytest.mark.parametrize("change", [
    {"status": "approved"},  # decided, but no time of the decision
    {"reviewed_at": "2026-01-01 00:00:00"},  # a review time on an undecided application
    {"review_note": "sneaky"},
], ids=["decided without time", "pending with time", "pending with note"])
def test_the_database_refuses_a_review_that_does_not_match_the_status(app, people, change):
    member, _, _, planet = people
    with app.app_context():
        application_id = _submit(member, planet).id
        assignments = ", ".join(f"{column} = :{column}" for column in change)
        with pytest.raises(IntegrityError):
            db.session.execute(db.text(f"UPDATE mission_applications SET {assignments} "  # noqa: S608
                                       "WHERE id = :id"), {**change, "id": application_id})
            db.session.commit()
        db.session.rollback()


def test_two_reviews_of_one_application_store_one_decision(app, people):
    """Both reviewers read the pending application; the second to store loses cleanly."""
    member, reviewer, _, planet = people
    with app.app_context():
        application_id = _submit(member, planet).id
    with app.app_context():
        seen_by_first = db.session.get(MissionApplication, application_id)
        with app.app_context():  # a second request, with a session of its own
            seen_by_second = db.session.get(MissionApplication, application_id)
            applications.review([seen_by_second], db.session.get(User, reviewer), S.REJECTED,
                                "Not this time.")
        with pytest.raises(DomainError, match="changed or deleted by someone else") as refused:
            applications.review([seen_by_first], db.session.get(User, reviewer), S.APPROVED)
        assert refused.value.kind is Refusal.CONFLICT
    with app.app_context():
        assert db.session.get(MissionApplication, application_id).status == "rejected"
        assert [a for a, _, _ in _actions(application_id)] == ["application.submit",
                                                              "application.reject"]
