"""Mission applications: a member asks to travel to a planet; staff approve or reject."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import db, sort_indexes
from models.planets import Planet
from models.users import User

MAX_MOTIVATION_LENGTH = 2000


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ApplicationError(ValueError):
    """A refused change of an application's status."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class MissionApplication(db.Model):
    __tablename__ = "mission_applications"
    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(s.value) for s in ApplicationStatus)})",
            name="status_known",
        ),
        CheckConstraint(
            f"length(motivation) BETWEEN 1 AND {MAX_MOTIVATION_LENGTH}", name="motivation_length"
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
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    planet_id: Mapped[int] = mapped_column(ForeignKey("planets.id", ondelete="CASCADE"), index=True)
    motivation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=ApplicationStatus.PENDING.value)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str] = mapped_column(Text, default="")

    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    planet: Mapped[Planet] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    def __repr__(self) -> str:
        return f"<MissionApplication {self.id} {self.status}>"

    @property
    def is_pending(self) -> bool:
        return self.status == ApplicationStatus.PENDING

    def _leave_pending(self, status: ApplicationStatus) -> None:
        if not self.is_pending:
            raise ApplicationError(f"This application is already {self.status}.")
        self.status = status.value

    def withdraw(self) -> None:
        self._leave_pending(ApplicationStatus.WITHDRAWN)

    def review(self, reviewer: User, status: ApplicationStatus, note: str = "") -> None:
        """Approve or reject; records who decided and when."""
        if status not in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
            raise ApplicationError("A review approves or rejects.")
        self._leave_pending(status)
        self.reviewed_by_id = reviewer.id
        self.reviewed_at = utcnow()
        self.review_note = note


sort_indexes(MissionApplication.status, MissionApplication.submitted_at)


def has_pending_application(applicant: User, planet: Planet) -> bool:
    pending = select(MissionApplication.id).where(
        MissionApplication.applicant_id == applicant.id,
        MissionApplication.planet_id == planet.id,
        MissionApplication.status == ApplicationStatus.PENDING.value,
    )
    return db.session.scalar(pending) is not None


def submit_application(applicant: User, planet: Planet, motivation: str) -> MissionApplication:
    """Store a pending application; one pending application per member and planet."""
    motivation = motivation.strip()
    if not motivation:
        raise ApplicationError("Tell us why you want to go.")
    if len(motivation) > MAX_MOTIVATION_LENGTH:
        raise ApplicationError(f"Use at most {MAX_MOTIVATION_LENGTH} characters.")
    duplicate = (
        f"You already have a pending application for {planet.name}; "
        "withdraw it first to apply again."
    )
    if has_pending_application(applicant, planet):
        raise ApplicationError(duplicate)
    application = MissionApplication(applicant_id=applicant.id, planet_id=planet.id,
                                     motivation=motivation)
    db.session.add(application)
    try:
        db.session.commit()
    except IntegrityError:  # a simultaneous request stored the same application first
        db.session.rollback()
        raise ApplicationError(duplicate) from None
    return application
