"""Mission applications: a member asks to travel to a planet; staff approve or reject.

The life cycle is one table, TRANSITIONS: an application starts pending and leaves that state
once, by a review (approved, rejected) or by its applicant (withdrawn). The database holds the
same rules as CHECK constraints (a decided application names when; an undecided one has no
review) and a version number, so two reviews of one application cannot both be stored.
The applications service (console/services/applications.py) is the only writer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import NEVER_REUSE_IDS, db, one_of, sort_indexes, utcnow
from models.planets import Planet
from models.users import User

MAX_MOTIVATION_LENGTH = 2000
MAX_REVIEW_NOTE_LENGTH = 2000
# Who decided, as members read it (their dashboard, their mails): the role, never a username.
REVIEWERS = "the mission office"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Transition(StrEnum):
    """Who moves an application on: its reviewers or its applicant."""

    REVIEW = "review"
    WITHDRAW = "withdraw"


# (from, to) -> the kind of transition that may make it; any other change of status is refused.
TRANSITIONS: dict[tuple[ApplicationStatus, ApplicationStatus], Transition] = {
    (ApplicationStatus.PENDING, ApplicationStatus.APPROVED): Transition.REVIEW,
    (ApplicationStatus.PENDING, ApplicationStatus.REJECTED): Transition.REVIEW,
    (ApplicationStatus.PENDING, ApplicationStatus.WITHDRAWN): Transition.WITHDRAW,
}
DECIDED = (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED)


def _listed(statuses: tuple[ApplicationStatus, ...]) -> str:
    return ", ".join(repr(status.value) for status in statuses)


class MissionApplication(db.Model):
    __tablename__ = "mission_applications"
    __table_args__ = (
        one_of("status", ApplicationStatus, "status_known"),
        CheckConstraint(
            f"length(motivation) BETWEEN 1 AND {MAX_MOTIVATION_LENGTH}", name="motivation_length"
        ),
        # A decided application says when; an undecided one carries no review.
        CheckConstraint(
            f"(status IN ({_listed(DECIDED)}) AND reviewed_at IS NOT NULL) OR "
            f"(status NOT IN ({_listed(DECIDED)}) AND reviewed_at IS NULL "
            "AND reviewed_by_id IS NULL AND review_note = '')",
            name="review_matches_status",
        ),
        # One pending application per member and planet, enforced by the database.
        Index(
            "uq_mission_applications_pending",
            "applicant_id",
            "planet_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No cascade: an applicant or planet with applications is deactivated or archived instead.
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    planet_id: Mapped[int] = mapped_column(ForeignKey("planets.id"), index=True)
    motivation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ApplicationStatus.PENDING.value)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    planet: Mapped[Planet] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<MissionApplication {self.id} {self.status}>"

    @property
    def is_pending(self) -> bool:
        return self.status == ApplicationStatus.PENDING

    @property
    def status_label(self) -> str:
        return ApplicationStatus(self.status).label

    def transition_to(self, status: ApplicationStatus) -> Transition | None:
        """The kind of transition that moves this application to `status`, or None when the
        life cycle does not allow it."""
        return TRANSITIONS.get((ApplicationStatus(self.status), status))


sort_indexes(MissionApplication.status, MissionApplication.submitted_at)
