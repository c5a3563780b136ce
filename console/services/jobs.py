"""Every write of jobs: enqueueing (in the transaction of the change that calls for the job),
running, failing and retrying with backoff, an admin's retry, and the sweep that hands a job
whose worker died to another.

Never twice to a double effect: a run starts by claiming its job, queued -> running, in one
UPDATE, so a job the queue hands out twice (a re-push, a sweep) runs once; a handler's changes
are committed in the same transaction that marks the job done, so a worker killed mid-job
leaves nothing applied and the job queued again. (A mail handed to the SMTP server just before
a worker dies, and before its job is marked done, can go out twice; that window is the SMTP
reply's.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from console import audit
from console.audit import Source
from console.jobs import queue
from models import Job, JobState, as_utc, db, utcnow
from models.errors import DomainError, Refusal
from models.jobs import MAX_ERROR_LENGTH

logger = logging.getLogger("console.jobs")

Handler = Callable[[Job], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}
# Seconds before the first retry; each next one waits twice as long, up to an hour.
FIRST_RETRY_DELAY = 10
MAX_RETRY_DELAY = 3600
PENDING = "jobs_to_push"
WORKER_LOST = "Its worker stopped before the job finished; it runs again."


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does the work of jobs of `kind`: it gets the job, returns
    what to keep as its result, and raises to fail; it must not commit (the run commits its
    changes with the job's end)."""
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function
    return register


def enqueue(kind: str, payload: dict[str, Any], title: str, *, actor: Any = None) -> Job:
    """Add a job to the current transaction; it reaches the queue once that commits."""
    job = Job(kind=kind, payload=payload, title=title[:200],
              created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(PENDING, []).append(job.id)
    return job


def submit(kind: str, payload: dict[str, Any], title: str, *, actor: Any = None) -> Job:
    """A job on its own, committed at once (a mail asked for after its change committed)."""
    job = enqueue(kind, payload, title, actor=actor)
    db.session.commit()
    return job


def _push_committed(session: Session) -> None:
    for job_id in session.info.pop(PENDING, []):
        queue().push(job_id)


def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    session.info.pop(PENDING, None)


def push_after_commit() -> None:
    """Jobs go to the queue after their transaction commits, never before (a worker would
    not find them) and never after a rollback."""
    if not event.contains(Session, "after_commit", _push_committed):
        event.listen(Session, "after_commit", _push_committed)
        event.listen(Session, "after_soft_rollback", _drop_rolled_back)


def retry_delay(attempts: int) -> int:
    return min(FIRST_RETRY_DELAY * 2 ** (attempts - 1), MAX_RETRY_DELAY)


def _error_text(error: BaseException) -> str:
    """What went wrong, for the Jobs view: the kind of error and its code, or its message when
    the error is one of ours (a handler's DomainError says what to fix)."""
    if isinstance(error, DomainError):
        text = error.message
    elif isinstance(error, OSError):
        code = getattr(error, "smtp_code", None) or error.errno
        text = type(error).__name__ + (f" ({code})" if code else "")
    else:
        text = type(error).__name__
    return text[:MAX_ERROR_LENGTH]


def run(job_id: int) -> None:
    """Claim the job and run its handler; on failure, queue it again after a backoff until it
    has had JOB_RETRIES tries, then mark it failed."""
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == JobState.QUEUED.value)
        .values(state=JobState.RUNNING.value, attempts=Job.attempts + 1,
                started_at=utcnow(), error=""),
        execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    if not claimed:
        return  # done, failed, or running elsewhere: the queue handed it out twice
    job = db.session.get(Job, job_id)
    with queue().heartbeat(job_id):
        try:
            result = HANDLERS[job.kind](job) or {}
        except Exception as error:  # noqa: BLE001 - any failure of a job is recorded
            db.session.rollback()
            logger.warning("Job %s (%s) failed: %s", job_id, job.kind, _error_text(error),
                           exc_info=not isinstance(error, DomainError | OSError))
            _failed(db.session.get(Job, job_id), error)
            return
        job.state, job.result, job.payload = JobState.DONE.value, result, {}
        job.finished_at = utcnow()
        db.session.commit()


def _failed(job: Job, error: BaseException) -> None:
    job.error = _error_text(error)
    permanent = isinstance(error, DomainError)  # bad input: trying again changes nothing
    if permanent or job.attempts >= current_app.config["JOB_RETRIES"]:
        job.state, job.finished_at = JobState.FAILED.value, utcnow()
        db.session.commit()
        return
    job.state = JobState.QUEUED.value
    db.session.commit()
    queue().push(job.id, delay=retry_delay(job.attempts))


def retry(job: Job, *, actor: Any, via: str = Source.CONSOLE) -> None:
    """An admin runs a failed job again, with a fresh set of tries; audited."""
    if job.state != JobState.FAILED.value:
        raise DomainError.about("state", f"Job {job.id} is {job.state_label.lower()}, not "
                                "failed: there is nothing to retry.", Refusal.CONFLICT)
    audit.record("job.retry", job, actor=actor, via=via,
                 changes={"state": [job.state, JobState.QUEUED.value]})
    job.state, job.attempts, job.finished_at = JobState.QUEUED.value, 0, None
    db.session.info.setdefault(PENDING, []).append(job.id)
    db.session.commit()


def sweep() -> None:
    """Run by every worker at its start and once a minute: a running job whose worker has not
    said it lives for a lease is queued again (the worker died: its changes were rolled back);
    a queued job pushed more than a lease ago is pushed again (the queue lost it)."""
    jobs_queue = queue()
    lease = jobs_queue.lease_seconds
    stale = time.time() - lease
    for job in db.session.scalars(select(Job).where(Job.state == JobState.RUNNING.value)):
        started = job.started_at and as_utc(job.started_at)
        if (jobs_queue.alive_at(job.id) or (started and started.timestamp()) or 0) < stale:
            job.state, job.error = JobState.QUEUED.value, WORKER_LOST
            db.session.info.setdefault(PENDING, []).append(job.id)
    db.session.commit()
    cutoff = utcnow() - timedelta(seconds=lease)
    for job in db.session.scalars(select(Job).where(Job.state == JobState.QUEUED.value,
                                                    Job.created_at < cutoff)):
        if (jobs_queue.pushed_at(job.id) or 0) < stale:
            jobs_queue.push(job.id)
