"""Jobs: work done outside the request (mails, large imports) by the job queue's workers.

The row is the job's record: what to do, where it stands, how often it was tried and why it
failed; the queue itself (console/jobs.py) only carries job ids. A job is claimed by moving it
from queued to running in one UPDATE, so a job the queue hands out twice runs once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models import NEVER_REUSE_IDS, db, one_of, sort_indexes, utcnow

MAX_ERROR_LENGTH = 500


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (one_of("state", JobState, "state_known"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # a handler of console/services/jobs.py
    title: Mapped[str] = mapped_column(String(200), default="")  # for the Jobs view
    state: Mapped[str] = mapped_column(String(10), default=JobState.QUEUED.value)
    # What the handler needs; cleared once the job is done (a mail's link is a secret).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(String(MAX_ERROR_LENGTH), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"

    @property
    def state_label(self) -> str:
        return JobState(self.state).label


sort_indexes(Job.created_at, Job.state, Job.kind)
