"""The job queue: Huey. In production it runs on Redis (JOB_QUEUE_URL=redis://...), with
`flask --app console worker` (`make worker`) on any number of hosts; by default it keeps its
queue in a SQLite file under instance/ and `make run` starts a worker itself, so the two-command
start needs no extra service.

Huey because it is one small, well-kept library with both a Redis and a SQLite storage (the
embedded default needs no server), delayed tasks for retries, periodic tasks and a threaded
consumer; RQ needs Redis always and Dramatiq has no embedded broker.

The queue carries job ids only. What a job is, where it stands, how often it was tried and why
it failed is its row (models/jobs.py), written by console/services/jobs.py. A worker's
heartbeat and a running job's progress live in the queue's own key-value store: they change
while the job's database transaction is still open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper

SQLITE_PREFIX = "sqlite:///"


@dataclass
class JobQueue:
    huey: Huey
    run_job: TaskWrapper
    lease_seconds: int

    def push(self, job_id: int, delay: float = 0) -> None:
        """Hand `job_id` to a worker, now or after `delay` seconds."""
        self.huey.put(f"job-pushed:{job_id}", time.time())
        if delay:
            self.run_job.schedule((job_id,), delay=delay)
        else:
            self.run_job(job_id)

    def pushed_at(self, job_id: int) -> float | None:
        return self.huey.get(f"job-pushed:{job_id}", peek=True)

    @contextmanager
    def heartbeat(self, job_id: int) -> Iterator[None]:
        """While the block runs, say every third of the lease that the job's worker lives."""
        stop = threading.Event()

        def beat() -> None:
            while True:
                self.huey.put(f"job-alive:{job_id}", time.time())
                if stop.wait(self.lease_seconds / 3):
                    return

        beating = threading.Thread(target=beat, name=f"heartbeat of job {job_id}", daemon=True)
        beating.start()
        try:
            yield
        finally:
            stop.set()
            beating.join()

    def alive_at(self, job_id: int) -> float | None:
        return self.huey.get(f"job-alive:{job_id}", peek=True)

    def set_progress(self, job_id: int, done: int, total: int | None) -> None:
        self.huey.put(f"job-progress:{job_id}", (done, total))

    def progress(self, job_id: int) -> tuple[int, int | None] | None:
        return self.huey.get(f"job-progress:{job_id}", peek=True)

    def run_pending(self) -> int:
        """Run every job waiting in the queue, here and now (the tests' worker); returns how
        many ran. Delayed retries wait for their time."""
        ran = 0
        while (task := self.huey.dequeue()) is not None:
            self.huey.execute(task)
            ran += 1
        return ran


def percent_done(done: int, total: int | None) -> int:
    """A job's progress (`done` of `total`, as set_progress stores it) in whole percent."""
    return min(100, round(100 * done / total)) if total else 0


def queue() -> JobQueue:
    return current_app.extensions["job_queue"]


def _huey(app: Flask) -> Huey:
    url = app.config["JOB_QUEUE_URL"]
    name = app.config["JOB_QUEUE_NAME"]
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    path = url[len(SQLITE_PREFIX):] if url.startswith(SQLITE_PREFIX) else str(
        Path(app.instance_path) / "jobs.sqlite3")
    return SqliteHuey(name, filename=path, results=False)


def init_jobs(app: Flask) -> None:
    from console.services import jobs

    huey = _huey(app)

    @huey.task(name="run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            jobs.run(job_id)

    @huey.periodic_task(crontab(minute="*"), name="sweep_jobs")
    def sweep_jobs() -> None:
        with app.app_context():
            jobs.sweep()

    @huey.on_startup()
    def sweep_at_start() -> None:
        with app.app_context():
            jobs.sweep()

    app.extensions["job_queue"] = JobQueue(huey, run_job, app.config["JOB_LEASE_SECONDS"])
    jobs.push_after_commit()


def run_worker(app: Flask, workers: int) -> None:
    """Take jobs off the queue until stopped (Ctrl+C or SIGTERM finish the running jobs)."""
    huey = app.extensions["job_queue"].huey
    # An idle worker asks the queue again at most a second later (SQLite is polled; Redis
    # answers a blocking pop at once), so a mail leaves within a second of its request.
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                         max_delay=1.0).run()
