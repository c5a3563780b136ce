"""Console view of the audit log: read-only, newest first, for admins."""

from __future__ import annotations

from flask import url_for
from markupsafe import Markup

from console import labels
from console.admin.base import ConsoleModelView
from console.admin.history import HISTORY_VIEWS
from console.history import field_changes
from console.security import Permission, can
from models import AuditEvent


def _changes(view, context, model, name) -> Markup:
    """Each changed field as its label, its value before and after, in words."""
    items = [Markup('<li><span class="font-weight-bold">{}</span>: {} → {}</li>').format(
        labels.field_label(change.field),
        labels.change_value(change.before, change.field) or "—",
        labels.change_value(change.after, change.field) or "—")
        for change in sorted(field_changes(model), key=lambda change: change.field)]
    return Markup('<ul class="list-unstyled mb-0">{}</ul>').format(Markup("").join(items))


def _actor(view, context, model, name) -> str:
    return model.actor_username or "no one logged in"




def _target(view, context, model, name) -> Markup | str:
    """The target's id, linked to its history; a planet's delete event also to its restore."""
    endpoint = HISTORY_VIEWS.get(model.target_type)
    if not endpoint or not model.target_id:
        return model.target_id
    history = url_for(f"{endpoint}.history_view", id=model.target_id)
    link = Markup('<a href="{}">{}</a>').format(history, model.target_id)
    if model.action == "planet.delete" and can(Permission.PLANETS_WRITE):
        restore = url_for("planet.restore_view", event=model.id)
        link += Markup(' <a href="{}">Restore</a>').format(restore)
    return link


class AuditView(ConsoleModelView):
    permission = Permission.AUDIT_READ
    offers_create = offers_edit = offers_delete = False

    column_list = ["at", "actor_username", "action", "target_type", "target_id", "via",
                   "via_detail", "remote_addr"]
    column_details_list = ["id", *column_list, "changes"]
    column_labels = {"at": "When", "actor_username": "Actor", "target_type": "Target",
                     "target_id": "Target id", "via": "From", "via_detail": "Token or file",
                     "remote_addr": "Address", "changes": "Changes"}
    column_sortable_list = ["at", "action", "actor_username", "target_type"]
    column_sort_ignoring_case = ("actor_username",)  # served by its lower(...) index
    column_default_sort = ("at", True)
    column_filters = ["action", "actor_username", "target_type", "target_id", "via"]
    column_formatters = {"changes": _changes, "actor_username": _actor, "target_id": _target}
    # Actions, targets and sources in words, in the list, the details and the filters' options
    # (the filters' values stay the identifiers).
    column_choices = {"action": labels.choices(labels.ACTION_LABELS),
                      "target_type": labels.choices(labels.TARGET_LABELS),
                      "via": labels.choices(labels.SOURCE_LABELS)}

    def record_label(self, model: AuditEvent) -> str:
        return f"audit event {model.id}"
