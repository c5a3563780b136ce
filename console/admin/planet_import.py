"""The console's CSV import of planets, for editors and admins: upload a file in the export
format, read the dry run's report, then apply it all or nothing (console/services/
planet_imports.py does the work). A large file is checked and applied by a job: its page shows
the job's progress, then the same report.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, flash, jsonify, redirect, request
from flask_admin import expose
from flask_login import current_user
from werkzeug.datastructures import CombinedMultiDict
from wtforms import BooleanField, FileField, Form, HiddenField

from console.jobs import percent_done, queue
from console.security import Permission, can
from console.services import planet_imports
from console.services.planet_imports import ImportRun
from models import JobState
from models.errors import DomainError
from models.planets import PLANET_FIELDS

UPDATE_HELP = ("Planets whose name is already in the catalog are left as they are, unless "
               "this is ticked: then their values are replaced by the file's.")
FIELD_LABELS = {field.name: field.label for field in PLANET_FIELDS} | {"row": "Row"}
UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)


class ImportForm(Form):
    """The upload; CSRFProtect checks the token of every console POST."""

    file = FileField("CSV file", description="A file in the export format, as the list's "
                     "Export link writes it, with its header line. Nothing is stored before "
                     "you have read the dry run and applied it.")
    update = BooleanField("Update planets already in the catalog", description=UPDATE_HELP)


class ApplyForm(Form):
    key = HiddenField()
    update = HiddenField()


def raise_upload_limit(app: Flask) -> None:
    """An import's upload may be IMPORT_MAX_BYTES, not the site's MAX_CONTENT_LENGTH, for those
    who may import: set before CSRFProtect reads the form (so call this before it is set up)."""
    @app.before_request
    def import_upload_limit() -> None:
        if request.endpoint == "planet.import_view" and can(Permission.PLANETS_WRITE):
            request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


class PlanetImportMixin:
    """The import pages of the planets view."""

    import_template = "admin/model/planet_import.html"
    field_labels = FIELD_LABELS

    @property
    def can_import(self) -> bool:
        return can(Permission.PLANETS_WRITE)

    def _import_page(self, form: ImportForm, run: ImportRun | None = None):
        return self.render(self.import_template, form=form, run=run,
                           max_megabytes=current_app.config["IMPORT_MAX_BYTES"] // 2**20)

    def _after(self, run: ImportRun):
        """The report of a run made in the request, or the page of its job."""
        if run.job is not None:
            return redirect(self.get_url(".import_job_view", job_id=run.job.id))
        return self._import_page(ImportForm(data={"update": run.update}), run)

    @expose("/import/", methods=["GET", "POST"])
    def import_view(self):
        form = ImportForm(CombinedMultiDict((request.files, request.form)))
        if request.method == "GET":
            return self._import_page(ImportForm())
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors = ["Choose a CSV file to check."]
            return self._import_page(form)
        try:
            run = planet_imports.check(upload.stream, upload.filename, update=form.update.data,
                                       actor=current_user._get_current_object())
        except DomainError as error:
            form.file.errors = list(error.fields.get("file", [error.message]))
            return self._import_page(form)
        return self._after(run)

    @expose("/import/apply/", methods=["POST"])
    def import_apply_view(self):
        form = ApplyForm(request.form)
        try:
            run = planet_imports.apply(form.key.data or "", update=form.update.data == "y",
                                       actor=current_user._get_current_object())
        except DomainError as error:
            flash(f"{error.message[:1].upper()}{error.message[1:]}.", "error")
            return redirect(self.get_url(".import_view"))
        return self._after(run)

    def _job(self, job_id: int):
        job = planet_imports.job_of(job_id, current_user._get_current_object())
        if job is None:
            abort(404)
        return job

    @expose("/import/job/<int:job_id>/")
    def import_job_view(self, job_id: int):
        job = self._job(job_id)
        if job.state in UNFINISHED:
            return self.render("admin/model/planet_import_job.html", job=job,
                               progress=self._progress(job))
        run = planet_imports.report_of(job)
        form = ImportForm()
        if run is None:  # failed: its error says why
            form.file.errors = [job.error]
        return self._import_page(form, run)

    @expose("/import/job/<int:job_id>/progress")
    def import_progress_view(self, job_id: int):
        """Where the job stands, for the page's script: state, then bytes read of the file."""
        job = self._job(job_id)
        return jsonify(state=job.state, **self._progress(job))

    @staticmethod
    def _progress(job: Any) -> dict[str, Any]:
        done, total = (queue().progress(job.id) if job.state == JobState.RUNNING.value
                       else None) or (0, None)
        return {"done": done, "total": total, "percent": percent_done(done, total)}
