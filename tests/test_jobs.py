"""The job queue: mails leave the request as jobs, workers run them once, failures are retried
with backoff and then marked failed, admins see and retry them, and a worker killed mid-job
leaves the job to another worker, which finishes it exactly once.

On SQLite the queue is the embedded one (a SQLite file); on PostgreSQL it is Redis when Redis
answers at 127.0.0.1:6379, as in production."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import func, select

from console import mail
from console.jobs import queue
from console.planet_csv import CSV_COLUMNS
from console.services import jobs, planet_imports
from models import AuditEvent, ImportFile, Job, JobState, Planet, User, db
from tests.conftest import ENVIRONMENT_SETTINGS
from tests.network import free_port
from tests.smtp import SmtpServer, running_smtp_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
LATER = datetime(2100, 1, 1)  # huey's schedule is in naive UTC


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def app_config(tmp_path, database_url) -> dict:
    """The queue of production on PostgreSQL (Redis), the embedded one on SQLite."""
    on_redis = database_url.startswith("postgresql") and _redis_answers()
    return {"JOB_QUEUE_URL": REDIS_URL if on_redis else f"sqlite:///{tmp_path / 'jobs.db'}",
            "JOB_QUEUE_NAME": f"test-{uuid.uuid4().hex}", "JOB_LEASE_SECONDS": 2}


def _send(app, to: str = "ada@example.com") -> int:
    with app.app_context():
        mail.send("login_lockout", to, "Failed logins to your account",
                  user=SimpleNamespace(username="ada"), link="http://console.test/reset")
        return db.session.scalars(select(Job.id).order_by(Job.id.desc())).first()


def _job(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def _run_pending(app) -> int:
    with app.app_context():
        return queue().run_pending()


def test_a_mail_waits_in_the_queue_until_a_worker_delivers_it(app, mailbox):
    job_id = _send(app)
    assert len(mailbox) == 0 and _job(app, job_id).state == JobState.QUEUED
    assert _run_pending(app) == 1
    assert mailbox.one()["To"] == "ada@example.com"
    job = _job(app, job_id)
    assert (job.state, job.attempts, job.payload) == (JobState.DONE, 1, {})
    assert job.result == {"to": "ada@example.com", "template": "login_lockout"}


def test_a_request_answers_before_its_mail_is_sent(app, mailbox, make_user):
    make_user("ada")
    plain = FlaskClient(app)  # no worker after the request
    plain.post("/forgot-password", data={"email": "ada@example.com"})
    assert len(mailbox) == 0
    _run_pending(app)
    assert "Reset your password" in mailbox.one()["Subject"]


def test_a_job_handed_out_twice_runs_once(app, mailbox):
    job_id = _send(app)
    with app.app_context():
        queue().push(job_id)  # a re-push, a sweep: the queue now holds it twice
    assert _run_pending(app) == 2
    assert len(mailbox) == 1 and _job(app, job_id).attempts == 1


def test_nothing_is_queued_when_the_transaction_rolls_back(app):
    with app.app_context():
        jobs.enqueue("mail", {}, "never")
        db.session.rollback()
        assert db.session.scalar(select(Job.id)) is None
    assert _run_pending(app) == 0


@pytest.mark.parametrize("app_config", [{"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1",
                                         "MAIL_PORT": free_port(), "JOB_RETRIES": 3}])
def test_a_failing_job_is_retried_with_backoff_then_marked_failed(app):
    job_id = _send(app)
    _run_pending(app)
    job = _job(app, job_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)
    assert job.error.startswith("ConnectionRefusedError")  # the kind of error, no text of it
    with app.app_context():
        huey = queue().huey
        assert [task.args for task in huey.scheduled()] == [(job_id,)]
        for attempt in (2, 3):
            queue().run_pending()  # a delayed task waits on the schedule, not in the queue
            for task in huey.read_schedule(LATER):  # the retry's time has come
                huey.execute(task, timestamp=LATER)
            db.session.expire_all()
            assert db.session.get(Job, job_id).attempts == attempt
    job = _job(app, job_id)
    assert (job.state, job.attempts) == (JobState.FAILED, 3)
    assert job.finished_at is not None


def test_the_backoff_doubles_up_to_an_hour():
    assert [jobs.retry_delay(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert jobs.retry_delay(30) == 3600


def _failed_job(app) -> int:
    job_id = _send(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.state, job.attempts, job.error = JobState.FAILED.value, 5, "SMTPServerDisconnected"
        db.session.commit()
    return job_id


def test_admins_see_jobs_and_retry_a_failed_one(app, login_as, mailbox):
    admin, _ = login_as("admin")
    job_id = _failed_job(app)
    page = admin.get("/admin/job/").get_data(as_text=True)
    assert "Failed logins to your account" in page and "SMTPServerDisconnected" in page
    assert "ada@example.com" in page
    response = admin.post("/admin/job/action/", data={"action": "retry",
                                                     "rowid": [str(job_id)]})
    assert response.status_code == 302
    assert _job(app, job_id).state == JobState.DONE  # queued again, and run by the worker
    assert len(mailbox) == 1
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "job.retry")).one()
        assert (event.target_type, event.target_id, event.via) == ("job", str(job_id),
                                                                  "console")


def test_retrying_a_job_that_did_not_fail_changes_nothing(app, login_as):
    admin, _ = login_as("admin")
    job_id = _send(app)
    _run_pending(app)
    page = admin.post("/admin/job/action/", data={"action": "retry", "rowid": [str(job_id)]},
                      follow_redirects=True).get_data(as_text=True)
    assert "nothing to retry" in page
    assert _job(app, job_id).attempts == 1


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_see_or_retry_jobs(app, login_as, role):
    client, _ = login_as(role)
    job_id = _failed_job(app)
    assert client.get("/admin/job/").status_code == 403
    assert client.post("/admin/job/action/", data={"action": "retry",
                                                  "rowid": [str(job_id)]}).status_code == 403
    assert _job(app, job_id).state == JobState.FAILED


def test_the_jobs_view_never_shows_a_mails_text(app, login_as, make_user):
    admin, _ = login_as("admin")
    make_user("ada")
    FlaskClient(app).post("/forgot-password", data={"email": "ada@example.com"})
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        link = job.payload["text"].split("/reset-password?token=")[1].split()[0]
    for path in ("/admin/job/", f"/admin/job/details/?id={job.id}"):
        assert link not in admin.get(path).get_data(as_text=True)


def test_a_running_job_whose_worker_went_silent_is_queued_again(app, mailbox):
    job_id = _send(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.state, job.attempts = JobState.RUNNING.value, 1  # claimed by a worker that died
        job.started_at = job.created_at
        db.session.commit()
        queue().huey.put(f"job-alive:{job_id}", time.time() - 10)
        jobs.sweep()
    assert _job(app, job_id).error == jobs.WORKER_LOST
    _run_pending(app)
    assert len(mailbox) == 1 and _job(app, job_id).state == JobState.DONE


def test_a_live_workers_job_is_left_alone(app):
    job_id = _send(app)
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.state = JobState.RUNNING.value
        db.session.commit()
        queue().huey.put(f"job-alive:{job_id}", time.time())
        jobs.sweep()
    assert _job(app, job_id).state == JobState.RUNNING


# --- real worker processes --------------------------------------------------------------------

class StallingSmtpServer(SmtpServer):
    """Holds the first message's DATA until told to go on: the worker is mid-job."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.stalling = True
        self.reached = False

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.stalling:
            self.reached = True
            while self.stalling:
                await asyncio.sleep(0.05)
            return "451 Try again later"
        return await super().handle_DATA(server, session, envelope)


def _worker(app, log: Path, smtp_port: int | None = None) -> subprocess.Popen:
    config = app.config
    env = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT_SETTINGS}
    env.update(DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=config["SECRET_KEY"],
               JOB_QUEUE_URL=config["JOB_QUEUE_URL"], JOB_QUEUE_NAME=config["JOB_QUEUE_NAME"],
               JOB_LEASE_SECONDS=str(config["JOB_LEASE_SECONDS"]), PYTHONUNBUFFERED="1")
    if smtp_port:
        env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port))
    with log.open("a") as stream:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "console", "worker",
                                 "--workers", "1"], cwd=PROJECT_ROOT, env=env, stdout=stream,
                                stderr=stream)


def _wait(condition, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {timeout} s:\n{log.read_text()[-3000:]}")


def test_a_worker_killed_mid_job_leaves_it_to_another_which_sends_the_mail_once(app,
                                                                                 tmp_path):
    log = tmp_path / "workers.log"
    with running_smtp_server(StallingSmtpServer) as smtp:
        smtp.mailbox = []
        job_id = _send(app)
        first = _worker(app, log, smtp.port)
        try:
            _wait(lambda: smtp.reached, "the first worker's delivery", log)
            assert _job(app, job_id).state == JobState.RUNNING
            first.send_signal(signal.SIGKILL)  # mid-job: no goodbye, no rollback message
            first.wait(timeout=10)
        finally:
            first.kill()
        smtp.stalling = False
        time.sleep(app.config["JOB_LEASE_SECONDS"] + 1)  # its heartbeat goes stale
        second = _worker(app, log, smtp.port)
        try:
            _wait(lambda: _job(app, job_id).state == JobState.DONE, "the retry", log)
            time.sleep(1)  # nothing else arrives
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=10)
        assert len(smtp.mailbox) == 1
        job = _job(app, job_id)
        assert job.attempts == 2 and job.payload == {}



def _import_file(rows: int) -> io.BytesIO:
    lines = [",".join(CSV_COLUMNS)]
    lines += [f"Killed {number:06d} b,gas_giant,Killed,2001,transit,300,11,3.5,0.04,120.5,1400,,"
              "test" for number in range(rows)]
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Planet)),
                db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "planet.create")))


def test_a_worker_killed_mid_import_leaves_nothing_applied_and_another_applies_it_once(
        app, make_user, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_JOB_THRESHOLD", 0)
    log = tmp_path / "workers.log"
    rows = 20_000
    editor = make_user("eddie", role="editor")
    with app.app_context():
        actor = db.session.get(User, editor.id)
        key = planet_imports.check(_import_file(rows), "big.csv", update=False, actor=actor).key
        queue().run_pending()  # the dry run, here
        job_id = planet_imports.apply(key, update=False, actor=actor).job.id
    first = _worker(app, log)
    try:
        _wait(lambda: (_progress(app, job_id) or (0, None))[0] > 0, "the first batches", log)
        first.send_signal(signal.SIGKILL)  # mid-import, its transaction open
        first.wait(timeout=10)
    finally:
        first.kill()
    assert _job(app, job_id).state == JobState.RUNNING, "the import ended before the kill"
    assert _counts(app) == (0, 0)  # nothing applied half
    time.sleep(app.config["JOB_LEASE_SECONDS"] + 1)  # its heartbeat goes stale
    second = _worker(app, log)
    try:
        _wait(lambda: _job(app, job_id).state == JobState.DONE, "the retry", log, timeout=120)
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(timeout=10)
    assert _counts(app) == (rows, rows)  # applied once, each planet audited once
    job = _job(app, job_id)
    assert job.attempts == 2 and job.result["report"]["created"] == rows
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportFile)) == 0


def _progress(app, job_id: int) -> tuple[int, int | None] | None:
    with app.app_context():
        return queue().progress(job_id)
