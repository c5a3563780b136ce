"""Every write of mission applications: a member submits and withdraws, reviewers approve or
reject. The life cycle is models.applications.TRANSITIONS; who may make each transition is
decided here; each step is audited in the transaction that stores it. Once a step has committed,
the applicant is told (console/notifications.py): a receipt of a submission, the decision of a
review.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from console import audit, notifications
from console.audit import Source
from console.security import Permission, can
from console.services.transaction import committed
from models import ApplicationStatus, MissionApplication, Planet, User, db, utcnow
from models.applications import (
    MAX_MOTIVATION_LENGTH,
    MAX_REVIEW_NOTE_LENGTH,
    Transition,
)
from models.errors import DomainError, Refusal

REJECTION_NEEDS_A_NOTE = "Say why, for the applicant."


def _review_values(application: MissionApplication) -> dict[str, Any]:
    values = audit.snapshot(application, ("status", "reviewed_at", "review_note"))
    values["reviewed_by"] = application.reviewed_by.username if application.reviewed_by else None
    return values


def has_pending_application(applicant: User, planet: Planet) -> bool:
    pending = select(MissionApplication.id).where(
        MissionApplication.applicant_id == applicant.id,
        MissionApplication.planet_id == planet.id,
        MissionApplication.status == ApplicationStatus.PENDING.value,
    )
    return db.session.scalar(pending) is not None


def submit(applicant: User, planet: Planet, motivation: str, *,
           via: str = Source.SITE) -> MissionApplication:
    """Store a pending application; one pending application per member and planet, and only
    from an account whose owner has confirmed its email address (the review's answer goes
    there)."""
    if not applicant.email_confirmed:
        raise DomainError.about(
            "email", "Confirm your email address before you apply: follow the link we sent "
            "to it, or send the link again from your dashboard.", Refusal.CONFLICT)
    motivation = motivation.strip()
    if not motivation:
        raise DomainError.about("motivation", "Tell us why you want to go.")
    if len(motivation) > MAX_MOTIVATION_LENGTH:
        raise DomainError.about("motivation", f"Use at most {MAX_MOTIVATION_LENGTH} characters.")
    if planet.archived:
        raise DomainError.about("planet", f"{planet.name} is archived and takes no applications.")
    duplicate = DomainError.about(
        "planet", f"You already have a pending application for {planet.name}; "
        "withdraw it first to apply again.", Refusal.CONFLICT)
    if has_pending_application(applicant, planet):
        raise duplicate
    application = MissionApplication(applicant_id=applicant.id, planet_id=planet.id,
                                     motivation=motivation)
    with committed(duplicate):  # a simultaneous request may store the same application first
        db.session.add(application)
        audit.record("application.submit", application, actor=applicant, via=via,
                     changes=audit.diff({}, {"planet": planet.name, "motivation": motivation,
                                             "status": ApplicationStatus.PENDING.value}))
    notifications.application_received(application.id)
    return application


def _refuse_transition(application: MissionApplication, status: ApplicationStatus,
                       kind: Transition) -> None:
    if application.transition_to(status) is not kind:
        raise DomainError.about(
            "status", f"This application is already {application.status_label.lower()}.",
            Refusal.CONFLICT)


def withdraw(application: MissionApplication, applicant: User, *,
             via: str = Source.SITE) -> None:
    """The applicant takes a pending application back."""
    if application.applicant_id != applicant.id:
        raise DomainError.about("id", "There is no such application of yours.", Refusal.MISSING)
    _refuse_transition(application, ApplicationStatus.WITHDRAWN, Transition.WITHDRAW)
    with committed():
        application.status = ApplicationStatus.WITHDRAWN.value
        audit.record("application.withdraw", application, actor=applicant, via=via,
                     changes={"status": [ApplicationStatus.PENDING.value, application.status]})


def review(applications: Sequence[MissionApplication], reviewer: User,
           status: ApplicationStatus, note: str = "", *,
           via: str = Source.CONSOLE) -> tuple[int, int]:
    """Approve or reject the pending ones of `applications` with one note for all (the
    applicant reads it; a rejection needs one), all in one transaction; returns (decided,
    skipped) where skipped were no longer pending. Each applicant is told once it committed."""
    if not can(Permission.APPLICATIONS_REVIEW, reviewer):
        raise DomainError.about("status", "Only reviewers may approve or reject applications.")
    if status not in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
        raise DomainError.about("status", "A review approves or rejects.")
    note = note.strip()
    if status == ApplicationStatus.REJECTED and not note:
        raise DomainError.about("review_note", REJECTION_NEEDS_A_NOTE)
    if len(note) > MAX_REVIEW_NOTE_LENGTH:
        raise DomainError.about("review_note", f"Use at most {MAX_REVIEW_NOTE_LENGTH} characters.")
    pending = [a for a in applications if a.transition_to(status) is Transition.REVIEW]
    with committed():
        for application in pending:
            before = _review_values(application)
            application.status = status.value
            application.reviewed_by = reviewer
            application.reviewed_at = utcnow()
            application.review_note = note
            audit.record(f"application.{'approve' if status == 'approved' else 'reject'}",
                         application, actor=reviewer, via=via,
                         changes=audit.diff(before, _review_values(application)))
    for application in pending:
        notifications.application_decided(application.id)
    return len(pending), len(applications) - len(pending)
