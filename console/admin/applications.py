"""Console view of mission applications: staff read them, editors and admins decide."""

from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_login import current_user

from console.admin.base import ConsoleModelView
from console.audit import Source
from console.security import Permission
from console.services import applications
from models import ApplicationStatus, MissionApplication, Planet
from models.errors import DomainError

STATUS_CHOICES = [(status.value, status.label) for status in ApplicationStatus]


class ApplicationView(ConsoleModelView):
    history_target = "mission_application"
    permission = Permission.APPLICATIONS_READ
    action_permissions = {"approve": Permission.APPLICATIONS_REVIEW,
                          "reject": Permission.APPLICATIONS_REVIEW}
    offers_create = offers_edit = offers_delete = False

    column_list = ["applicant.username", "planet.name", "status", "submitted_at"]
    column_labels = {"applicant.username": "Applicant", "planet.name": "Planet",
                     "submitted_at": "Submitted", "reviewed_by.username": "Reviewed by",
                     "reviewed_at": "Reviewed", "review_note": "Review note"}
    column_sortable_list = ["status", "submitted_at",
                            ("applicant.username", "applicant.username"),
                            ("planet.name", "planet.name")]
    column_default_sort = ("submitted_at", True)
    column_filters = [
        FilterEqual(MissionApplication.status, "Status", options=STATUS_CHOICES),
        FilterEqual(Planet.name, "Planet"),
    ]
    column_details_list = ["id", "applicant.username", "planet.name", "motivation", "status",
                           "submitted_at", "reviewed_by.username", "reviewed_at", "review_note"]

    def _review(self, ids: list[str], status: ApplicationStatus) -> None:
        """Decide every selected application still pending; leave the others as they are."""
        try:
            done, skipped = applications.review(self.selected(ids),
                                                current_user._get_current_object(), status,
                                                via=Source.CONSOLE)
        except DomainError as error:
            self.refused(error)
            return
        if done:
            flash(f"{done} application(s) {status.value}.", "success")
        if skipped:
            flash(f"{skipped} application(s) were no longer pending and were left unchanged.",
                  "warning")

    @action("approve", "Approve", "Approve the selected applications?")
    def action_approve(self, ids: list[str]) -> None:
        self._review(ids, ApplicationStatus.APPROVED)

    @action("reject", "Reject", "Reject the selected applications?")
    def action_reject(self, ids: list[str]) -> None:
        self._review(ids, ApplicationStatus.REJECTED)
