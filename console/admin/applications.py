"""Console view of mission applications: staff read them, editors and admins decide.

Every decision posts to review_view, with one note for all the applications it decides: the
details page's form decides one, the bulk actions' confirmation page the selected ones. The
applications service applies the life cycle, audits each step and tells each applicant.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.helpers import get_redirect_target
from flask_login import current_user
from markupsafe import Markup
from wtforms import Form, TextAreaField

from console import labels
from console.admin.base import ConsoleModelView, FilterEqualIgnoringCase
from console.audit import Source
from console.history import history_page
from console.security import Permission, can
from console.services import applications
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet
from models.applications import MAX_REVIEW_NOTE_LENGTH, REVIEWERS
from models.errors import DomainError

STATUS_CHOICES = labels.choices(labels.STATUS_LABELS)
# The value of each decision button -> the status it sets.
DECISIONS = {"approve": ApplicationStatus.APPROVED, "reject": ApplicationStatus.REJECTED}


class ReviewForm(Form):
    """The note of a decision. Its rules (required to reject, its length) are the service's; a
    plain WTForms form, as CSRFProtect checks the token of every console POST."""

    review_note = TextAreaField(
        "Review note",
        description=f"The applicant reads it on their dashboard and in the mail that tells "
                    f"the decision, signed “{REVIEWERS}”, never your name. Required to "
                    f"reject; at most {MAX_REVIEW_NOTE_LENGTH} characters.")


def _link(endpoint: str, record_id: int, text: str, permission: Permission) -> Markup | str:
    """`text` linked to a console record, for those who may read it."""
    if not can(permission):
        return text
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, id=record_id), text)


def _applicant(view: Any, context: Any, model: MissionApplication, name: str) -> Markup | str:
    return _link("user.details_view", model.applicant_id, model.applicant.username,
                 Permission.USERS_READ)


def _planet(view: Any, context: Any, model: MissionApplication, name: str) -> Markup | str:
    return _link("planet.details_view", model.planet_id, model.planet.name,
                 Permission.PLANETS_READ)


def _paragraphs(view: Any, context: Any, model: MissionApplication, name: str) -> Markup:
    """A text as its author wrote it, line breaks kept."""
    return Markup('<div class="text-pre-line">{}</div>').format(getattr(model, name) or "")


class ApplicationView(ConsoleModelView):
    history_target = "mission_application"
    permission = Permission.APPLICATIONS_READ
    action_permissions = {"approve": Permission.APPLICATIONS_REVIEW,
                          "reject": Permission.APPLICATIONS_REVIEW}
    offers_create = offers_edit = offers_delete = False
    details_template = "admin/model/application_details.html"  # with its story and the form

    column_list = ["applicant.username", "planet.name", "status", "submitted_at"]
    column_labels = {"applicant.username": "Applicant", "planet.name": "Planet",
                     "submitted_at": "Submitted", "reviewed_by.username": "Reviewed by",
                     "reviewed_at": "Reviewed", "review_note": "Review note"}
    column_sortable_list = ["status", "submitted_at",
                            ("applicant.username", "applicant.username"),
                            ("planet.name", "planet.name")]
    column_default_sort = ("submitted_at", True)
    column_sort_ignoring_case = ("applicant.username", "planet.name")
    column_filters = [
        FilterEqual(MissionApplication.status, "Status", options=STATUS_CHOICES),
        FilterEqualIgnoringCase(Planet.name, "Planet"),
        FilterEqualIgnoringCase("applicant.username", "Applicant"),
    ]
    column_details_list = ["id", "applicant.username", "planet.name", "motivation", "status",
                           "submitted_at", "reviewed_by.username", "reviewed_at", "review_note"]
    column_formatters_detail = {
        "applicant.username": _applicant, "planet.name": _planet, "motivation": _paragraphs,
        "review_note": _paragraphs,
    }
    column_choices = {"status": STATUS_CHOICES}  # list, details and filter in words
    max_review_note_length = MAX_REVIEW_NOTE_LENGTH

    def record_label(self, model: MissionApplication) -> str:
        return f"application {model.id} ({model.applicant.username}, {model.planet.name})"

    @property
    def can_review(self) -> bool:
        return can(Permission.APPLICATIONS_REVIEW)

    def review_form(self) -> ReviewForm:
        return ReviewForm()

    def story_of(self, application: MissionApplication) -> list[AuditEvent]:
        """The application's audit events, oldest first: its submission, then its decision or
        withdrawal (the History page has every field of each)."""
        return list(reversed(history_page(self.history_target, application.id).items))

    def _review_page(self, records: list[MissionApplication], form: ReviewForm, decision: str,
                     return_url: str):
        """The confirmation of a decision on `records`, with the note for all of them."""
        return self.render("admin/model/application_review.html", applications=records,
                           pending=[record for record in records if record.is_pending],
                           form=form, decision=decision, return_url=return_url)

    def _confirm(self, ids: list[str], decision: str):
        records = self.selected(ids)
        if not records:
            flash("Select the applications to decide first.", "error")
            return None  # back to the list
        return self._review_page(records, ReviewForm(),
                                 decision, get_redirect_target() or self.get_url(".index_view"))

    @action("approve", "Approve")
    def action_approve(self, ids: list[str]):
        return self._confirm(ids, "approve")

    @action("reject", "Reject")
    def action_reject(self, ids: list[str]):
        return self._confirm(ids, "reject")

    @expose("/review/", methods=["POST"])
    def review_view(self):
        """Approve or reject the posted applications (`id`, one or more) with one note, then
        back to where the form was; a note the service refuses shows next to its field."""
        status = DECISIONS.get(request.form.get("decision", ""))
        if status is None:
            abort(400)
        records = self.selected(request.form.getlist("id"))
        if not records:
            abort(404)
        default = self.get_url(".details_view", id=records[0].id) if len(records) == 1 else \
            self.get_url(".index_view")
        return_url = get_redirect_target() or default
        form = ReviewForm(request.form)
        try:
            done, skipped = applications.review(records, current_user._get_current_object(),
                                                status, form.review_note.data or "",
                                                via=Source.CONSOLE)
        except DomainError as error:
            self.refused(error, form)
            if form.review_note.errors:
                return self._review_page(records, form, request.form["decision"], return_url)
            return redirect(return_url)
        if done:
            flash(f"{done} application(s) {status.value}.", "success")
        if skipped and len(records) == 1:
            flash(f"This application was {records[0].status_label.lower()} meanwhile; your "
                  "decision was not stored.", "warning")
        elif skipped:
            flash(f"{skipped} application(s) were no longer pending and were left unchanged.",
                  "warning")
        return redirect(return_url)
