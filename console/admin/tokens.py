"""Console view of every API token, for admins to see their use and revoke them."""

from __future__ import annotations

from flask import flash
from flask_admin.actions import action

from console.admin.base import ConsoleModelView
from console.audit import Source
from console.security import Permission
from console.services.api_tokens import revoke_token
from models import ApiToken


class TokenView(ConsoleModelView):
    history_target = "api_token"
    permission = Permission.USERS_WRITE
    action_permissions = {"revoke": Permission.USERS_WRITE}
    offers_create = offers_edit = offers_delete = False

    # The hash is never shown; the prefix tells tokens apart.
    column_list = ["user.username", "name", "prefix", "created_at", "last_used_at",
                   "revoked_at"]
    column_details_list = ["id", *column_list]
    column_labels = {"user.username": "Owner", "prefix": "Starts with",
                     "created_at": "Created", "last_used_at": "Last used",
                     "revoked_at": "Revoked"}
    column_sortable_list = ["name", "created_at", "last_used_at", "revoked_at"]
    column_sort_ignoring_case = ("name",)  # served by its lower(...) index
    column_default_sort = ("created_at", True)
    column_searchable_list = ["name"]

    def record_label(self, model: ApiToken) -> str:
        return f"token {model.name} of {model.user.username}"

    @action("revoke", "Revoke", "Revoke the selected tokens? Scripts using them stop working.")
    def action_revoke(self, ids: list[str]) -> None:
        live = [token for token in self.selected(ids) if not token.is_revoked]
        for token in live:
            revoke_token(token, via=Source.CONSOLE)
        flash(f"{len(live)} token(s) revoked.", "success")
