"""CSV imports from the console: the file is uploaded once and kept (models/import_files.py),
checked by a dry run, then applied, all or nothing, through the planets service. A file up to
IMPORT_JOB_THRESHOLD bytes is checked and applied within the request; a larger one by a job,
whose progress the page shows and whose result is the same report.

The rows an apply stores, the removal of its file and the end of its job commit in one
transaction: a worker killed mid-import leaves nothing applied and the job to run again.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from flask import current_app
from sqlalchemy import delete, insert, select

from console.jobs import queue
from console.planet_import import ImportProgress, ImportReport
from console.services import jobs, planets
from models import MAX_ID, ImportFile, ImportFileChunk, Job, User, db, utcnow
from models.errors import DomainError, Refusal
from models.import_files import CHUNK_SIZE, MAX_FILENAME_LENGTH

IMPORT_JOB = "planet_import"
KEEP_FILES = timedelta(days=1)
PROGRESS_SECONDS = 0.5
FILE_GONE = ("this file is no longer here (it was applied, or uploaded more than a day ago); "
             "upload it again")


@dataclass(frozen=True)
class ImportRun:
    """A check or an apply of a kept file (`key`): its report when it ran in the request or
    its job finished, else its job."""

    key: str
    filename: str
    update: bool
    report: ImportReport | None = None
    job: Job | None = None

    @property
    def applicable(self) -> bool:
        """A clean dry run with something to store: the page offers to apply it."""
        report = self.report
        return bool(report and report.dry_run and not report.invalid
                    and report.created + report.updated)


def check(stream: IO[bytes], filename: str, *, update: bool, actor: User) -> ImportRun:
    """Keep an uploaded file and dry-run it: now, or as a job when it is large."""
    file = _store(stream, filename, actor)
    if file.size > current_app.config["IMPORT_JOB_THRESHOLD"]:
        job = _enqueue(file, dry_run=True, update=update, actor=actor)
        db.session.commit()
        return ImportRun(file.key, file.filename, update, job=job)
    file_id, key, filename = file.id, file.key, file.filename
    db.session.commit()  # the dry run rolls back what it read: the file stays
    try:
        report = _import(file, dry_run=True, update=update, actor=actor)
    except DomainError:  # not a file to import: not kept
        db.session.execute(delete(ImportFile).where(ImportFile.id == file_id))
        db.session.commit()
        raise
    return ImportRun(key, filename, update, report=report)


def apply(key: str, *, update: bool, actor: User) -> ImportRun:
    """Import a file checked before, all or nothing: now, or as a job when it is large."""
    file = db.session.scalar(select(ImportFile).where(ImportFile.key == key,
                                                      ImportFile.created_by_id == actor.id))
    if file is None:
        raise DomainError.about("file", FILE_GONE, Refusal.MISSING)
    if file.size > current_app.config["IMPORT_JOB_THRESHOLD"]:
        job = _enqueue(file, dry_run=False, update=update, actor=actor)
        db.session.commit()
        return ImportRun(key, file.filename, update, job=job)
    filename = file.filename
    report = _import(file, dry_run=False, update=update, actor=actor)
    db.session.commit()
    return ImportRun(key, filename, update, report=report)


def job_of(job_id: int, actor: User) -> Job | None:
    """`actor`'s import job of that id (none for an id no column holds)."""
    if not 1 <= job_id <= MAX_ID:
        return None
    return db.session.scalar(select(Job).where(Job.id == job_id, Job.kind == IMPORT_JOB,
                                               Job.created_by_id == actor.id))


def report_of(job: Job) -> ImportRun | None:
    """The check or apply that a finished job made."""
    result = job.result
    if "report" not in result:
        return None
    return ImportRun(result["file"], result["filename"], result["update"],
                     report=ImportReport.from_json(result["report"]), job=job)


@jobs.handler(IMPORT_JOB)
def run_import_job(job: Job) -> dict[str, Any]:
    job_id, payload = job.id, job.payload
    file = db.session.scalar(select(ImportFile).where(ImportFile.key == payload["file"]))
    if file is None:
        raise DomainError.about("file", FILE_GONE, Refusal.MISSING)
    filename = file.filename
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None

    said_at = 0.0  # when progress was last written

    def progress(where: ImportProgress) -> None:
        # At most every PROGRESS_SECONDS: each write is a commit of the queue's store (on
        # SQLite, a sync to disk), and a page asks once a second.
        nonlocal said_at
        if time.monotonic() - said_at >= PROGRESS_SECONDS:
            queue().set_progress(job_id, where.done, where.total)
            said_at = time.monotonic()

    report = _import(file, dry_run=payload["dry_run"], update=payload["update"], actor=actor,
                     progress=progress)
    return {"report": report.as_json(), "file": payload["file"], "filename": filename,
            "update": payload["update"]}


def _import(file: ImportFile, *, dry_run: bool, update: bool, actor: Any,
            progress: Any = None) -> ImportReport:
    """Run the planets service's import on a kept file, its changes (and, once applied, the
    file's removal) left uncommitted; a file that is not CSV in the export format is a
    DomainError about the "file"."""
    file_id, filename, size = file.id, file.filename, file.size
    try:
        report = planets.import_csv(_ChunkReader(file_id), size=size, dry_run=dry_run,
                                    update=update, progress=progress, actor=actor,
                                    via_detail=f"{filename} (console)", commit=False)
    except DomainError:
        raise
    except (ValueError, csv.Error) as error:  # UnicodeDecodeError is a ValueError
        raise DomainError.about("file", f"{filename}: {error}") from None
    if report.stored:
        db.session.execute(delete(ImportFile).where(ImportFile.id == file_id))
    return report


def _shown_name(filename: str) -> str:
    """The name of an upload as pages and the audit log show it: without the folders a browser
    may send, control characters or more than MAX_FILENAME_LENGTH characters."""
    name = "".join(char for char in filename.replace("\\", "/").rsplit("/", 1)[-1]
                   if char.isprintable()).strip()
    return name[-MAX_FILENAME_LENGTH:] or "upload.csv"


def _store(stream: IO[bytes], filename: str, actor: User) -> ImportFile:
    """Keep an upload, read in chunks, and forget files kept longer than KEEP_FILES."""
    db.session.execute(delete(ImportFile).where(ImportFile.created_at < utcnow() - KEEP_FILES))
    file = ImportFile(key=secrets.token_urlsafe(32), size=0, created_by_id=actor.id,
                      filename=_shown_name(filename))
    db.session.add(file)
    db.session.flush()
    seq = 0
    while data := stream.read(CHUNK_SIZE):
        db.session.execute(insert(ImportFileChunk).values(file_id=file.id, seq=seq, data=data))
        file.size += len(data)
        seq += 1
    if not file.size:
        db.session.rollback()
        raise DomainError.about("file", "this file is empty: choose a CSV file in the export "
                                "format")
    return file


def _enqueue(file: ImportFile, *, dry_run: bool, update: bool, actor: User) -> Job:
    verb = "Check" if dry_run else "Import"
    return jobs.enqueue(IMPORT_JOB, {"file": file.key, "dry_run": dry_run, "update": update},
                        title=f"{verb} of {file.filename}", actor=actor)


class _ChunkReader(io.RawIOBase):
    """A kept file read back one chunk at a time, in the session's transaction."""

    def __init__(self, file_id: int) -> None:
        super().__init__()
        self._file_id = file_id
        self._seq = 0
        self._chunk = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._chunk:
            data = db.session.scalar(select(ImportFileChunk.data).where(
                ImportFileChunk.file_id == self._file_id, ImportFileChunk.seq == self._seq))
            if data is None:
                return 0
            self._chunk, self._seq = memoryview(data), self._seq + 1
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size
