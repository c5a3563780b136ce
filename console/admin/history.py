"""The History tab of every console record, and revert and restore where the record's service
offers them (planets). What each may do comes from the view's permissions: reading the record
shows its history, editing it reverts a change, creating planets restores a deleted one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request
from flask_admin import expose

from console.history import field_changes, history_page
from console.paging import PagingError, pager_links
from models import AuditEvent, db, whole_number
from models.errors import DomainError

# The console view of each target type of the audit log, for links to a record's history.
HISTORY_VIEWS = {"planet": "planet", "user": "user", "mission_application": "application",
                 "api_token": "token"}


class HistoryMixin:
    """Adds /history/?id=, /revert/?id=&event= and /restore/?event= to a ConsoleModelView."""

    history_target = ""  # the audit log's target type of this view's records
    offers_revert = offers_restore = False
    revertible: tuple[str, ...] = ()  # the actions of this view's records that can be reverted

    @property
    def can_view_history(self) -> bool:
        return bool(self.history_target) and self.can_view_details

    @property
    def can_revert(self) -> bool:
        return self.offers_revert and self.can_edit

    @property
    def can_restore(self) -> bool:
        return self.offers_restore and self.can_create

    def _record(self) -> Any:
        record = self.get_one(request.args.get("id", ""))
        if record is None:
            abort(404)
        return record

    @expose("/history/")
    def history_view(self):
        record = self._record()
        number = whole_number(request.args.get("page")) or 1
        try:
            page = history_page(self.history_target, record.id, page=number,
                                after=request.args.get("after"),
                                before=request.args.get("before"))
        except PagingError:
            abort(400)

        def page_url(number: int, **cursor: str) -> str:
            return self.get_url(".history_view", id=record.id,
                                page=number if number > 1 else None, **cursor)

        return self.render("admin/model/history.html", record=record, events=page.items,
                           links=pager_links(page, number, page_url),
                           changes_of=field_changes, revertible=self.revertible)

    def _event(self, record: Any = None) -> AuditEvent:
        event_id = whole_number(request.values.get("event"))
        event = db.session.get(AuditEvent, event_id) if event_id else None
        if event is None or event.target_type != self.history_target or (
                record is not None and event.target_id != str(record.id)):
            abort(404)
        return event

    @expose("/revert/", methods=["GET", "POST"])
    def revert_view(self):
        record = self._record()
        event = self._event(record)
        try:
            fields = self.revert_fields(record, event)
        except DomainError as error:
            self.refused(error)
            return redirect(self.get_url(".history_view", id=record.id))
        if request.method == "POST":
            chosen = request.form.getlist("field")
            try:
                self.revert_record(record, event, chosen)
            except DomainError as error:
                self.refused(error, outcome="Nothing was changed.")
            else:
                flash(f"Reverted {len(chosen)} field(s) to their values before this change.",
                      "success")
                return redirect(self.get_url(".history_view", id=record.id))
        return self.render("admin/model/revert.html", record=record, event=event,
                           fields=fields)

    @expose("/restore/", methods=["GET", "POST"])
    def restore_view(self):
        event = self._event()
        if request.method == "POST":
            try:
                record = self.restore_record(event)
            except DomainError as error:
                self.refused(error, outcome="Nothing was restored.")
            else:
                flash(f"{self.record_label(record)} is back, with its old id {record.id}.",
                      "success")
                return redirect(self.get_url(".details_view", id=record.id))
        return self.render("admin/model/restore.html", event=event,
                           changes=field_changes(event))

    # Hooks of the views that offer revert and restore.

    def revert_fields(self, record: Any, event: AuditEvent) -> list[Any]:
        raise NotImplementedError

    def revert_record(self, record: Any, event: AuditEvent, fields: list[str]) -> None:
        raise NotImplementedError

    def restore_record(self, event: AuditEvent) -> Any:
        raise NotImplementedError

