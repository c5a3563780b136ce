"""Console view of the job queue's work, for admins: recent jobs, their state and progress, why
one failed (never a secret: console/services/jobs.py keeps only the kind and code of an
error), and Retry for failed ones."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup

from console import labels
from console.admin.base import ConsoleModelView
from console.audit import Source
from console.jobs import percent_done, queue
from console.security import Permission
from console.services import jobs
from models import Job, JobState
from models.errors import DomainError

STATE_CHOICES = labels.choices(labels.JOB_STATE_LABELS)


def _progress(view: Any, context: Any, job: Job, name: str) -> Markup | str:
    """A running job's progress as a bar (rows done of the total, when the job knows it)."""
    if job.state != JobState.RUNNING.value:
        return ""
    done, total = queue().progress(job.id) or (0, None)
    if not total:
        return f"{done:,} done" if done else "started"
    percent = percent_done(done, total)
    return Markup(
        '<progress max="{total}" value="{done}" aria-label="Progress of job {id}">{percent}%'
        "</progress> {percent}%").format(total=total, done=done, id=job.id, percent=percent)


class JobView(ConsoleModelView):
    permission = Permission.JOBS
    action_permissions = {"retry": Permission.JOBS}
    offers_create = offers_edit = offers_delete = False

    # The payload (a mail's text, an import's rows) is the job's input, never shown.
    column_list = ["created_at", "title", "kind", "state", "progress", "attempts", "error",
                   "finished_at"]
    column_details_list = ["id", "kind", "title", "state", "progress", "attempts", "error",
                           "result", "created_at", "started_at", "finished_at"]
    column_labels = {"created_at": "Queued", "started_at": "Started", "finished_at": "Finished",
                     "title": "Job", "attempts": "Tries"}
    column_sortable_list = ["created_at", "kind", "state"]
    column_default_sort = ("created_at", True)
    column_filters = ["state", "kind"]
    column_choices = {"state": STATE_CHOICES, "kind": labels.choices(labels.JOB_KIND_LABELS)}
    column_formatters = {"progress": _progress}
    column_formatters_detail = {"progress": _progress}

    def record_label(self, model: Job) -> str:
        return f"job {model.id} ({model.title})" if model.title else f"job {model.id}"

    @action("retry", "Retry", "Run the selected failed jobs again?")
    def action_retry(self, ids: list[str]) -> None:
        retried = 0
        for job in self.selected(ids):
            try:
                jobs.retry(job, actor=current_user._get_current_object(), via=Source.CONSOLE)
            except DomainError as error:
                self.refused(error)
            else:
                retried += 1
        if retried:
            flash(f"{retried} job(s) queued again.", "success")
