"""Console view of the audit log: read-only, newest first, for admins."""

from __future__ import annotations

import json

from flask import url_for
from markupsafe import Markup

from console.admin.base import ConsoleModelView
from console.admin.history import HISTORY_VIEWS
from console.security import Permission, can


def _changes(view, context, model, name) -> Markup:
    text = json.dumps(model.changes, ensure_ascii=False, sort_keys=True, default=str)
    return Markup("<code>{}</code>").format(text)


def _actor(view, context, model, name) -> str:
    return model.actor_username or f"— ({model.via})"




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
                     "remote_addr": "Address", "changes": "Changes [before, after]"}
    column_sortable_list = ["at", "action", "actor_username", "target_type"]
    column_default_sort = ("at", True)
    column_filters = ["action", "actor_username", "target_type", "target_id", "via"]
    column_formatters = {"changes": _changes, "actor_username": _actor, "target_id": _target}
