"""What every console view shares: access from the permission table, per-request abilities,
server-side refusal of hidden endpoints, and refusals of the services shown where they belong.

Views write nothing themselves: each model view's create/update/delete hooks call its service
(console/services), which validates, audits and stores the change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, g, redirect, request, url_for
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.model import typefmt
from flask_admin.model.base import ViewArgs
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy import ColumnElement, String, func, inspect
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import iter_multi_items
from wtforms.validators import ValidationError

from console import labels
from console.admin import rows
from console.admin.history import HistoryMixin
from console.errors import sentence
from console.extensions import login_manager
from console.paging import (
    Ordering,
    Page,
    PagerLinks,
    PagingError,
    fetch_from,
    pager_links,
    read_page,
)
from console.security import Permission, can, lacks_required_two_factor
from models import db, whole_number
from models.errors import DomainError

CONFLICT_MESSAGE = ("This change conflicts with another record (for example a name that is "
                    "already in use). Nothing was saved.")
DELETE_CONFIRMATION = "Are you sure you want to delete this record?"


class FilterEqualIgnoringCase(FilterEqual):
    """A text filter that ignores case: both sides lowered by the database, as the lower(...)
    indexes hold the column."""

    def apply(self, query, value: str, alias: Any = None):
        return query.filter(func.lower(self.get_column(alias)) == func.lower(value.strip()))


TWO_FACTOR_FIRST = "Turn on two-factor sign-in to use the console: staff accounts need it."


class ConsoleAccessMixin:
    """Anonymous users go to the login page; staff who must turn on two-factor sign-in first
    (STAFF_TWO_FACTOR=required) to its page; users without the permission get a 403."""

    permission: Permission = Permission.CONSOLE

    def is_accessible(self) -> bool:
        user = current_user._get_current_object()
        return (can(Permission.CONSOLE, user) and can(self.permission, user)
                and not lacks_required_two_factor(user))

    def inaccessible_callback(self, name: str, **kwargs: Any):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()  # the login page, with `next` and its message
        if lacks_required_two_factor():
            flash(TWO_FACTOR_FIRST, "warning")
            return redirect(url_for("auth.two_factor", next=request.full_path.rstrip("?")))
        abort(403)


# The ModelView method behind each endpoint, and the ability it needs.
ENDPOINT_ABILITIES = {
    "create_view": "can_create",
    "edit_view": "can_edit",
    "delete_view": "can_delete",
    "details_view": "can_view_details",
    "export": "can_export",
    "ajax_update": "can_edit",
    "history_view": "can_view_history",
    "revert_view": "can_revert",
    "restore_view": "can_restore",
    "review_view": "can_review",  # ApplicationView's approve and reject
    # PlanetView's CSV import (console/admin/planet_import.py)
    "import_view": "can_import",
    "import_apply_view": "can_import",
    "import_job_view": "can_import",
    "import_progress_view": "can_import",
}


CURSOR_ARGS = ("after", "before")  # of previous/next links (console.paging)
URL_SAFE = "!$'()*,/:;?@"  # left as they are in a query string by url_for (werkzeug.urls)


def _printable(text: str) -> bool:
    return not any(ord(char) < 32 or ord(char) == 127 for char in text)


class ConsoleModelView(HistoryMixin, ConsoleAccessMixin, ModelView):
    """Base of every model view in the console.

    `permission` opens the view (list and details); `write_permission` allows create, edit
    and delete where the view offers them; `action_permissions` maps each bulk action to the
    permission it needs. Hidden buttons are not the check: `_handle_view` refuses with 403.
    """

    write_permission: Permission | None = None
    action_permissions: dict[str, Permission] = {}
    offers_create = offers_edit = offers_delete = True
    offers_export = False
    can_import = False  # PlanetView's CSV import

    can_view_details = True
    page_size = 20
    list_template = "admin/model/console_list.html"
    details_template = "admin/model/console_details.html"  # with a link to the history
    # Forms with their errors and help tied to the fields (admin/model/_form.html); the edit
    # page also shows a planet's edit conflict.
    create_template = "admin/model/console_create.html"
    edit_template = "admin/model/console_edit.html"
    # Previous/next paging, by cursor (console.paging): counting every row of a large table on
    # each page view, or skipping rows to reach a deep page, costs more than the page itself.
    simple_list_pager = True
    # Times with their zone, numbers as published, yes or no (console/labels.py).
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: labels.minutes_type_formatter,
                              float: labels.number_type_formatter,
                              bool: labels.yes_no_type_formatter}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS,
                                     datetime: labels.seconds_type_formatter,
                                     float: labels.number_type_formatter,
                                     bool: labels.yes_no_type_formatter}
    delete_confirmation = DELETE_CONFIRMATION  # asked before a row's delete button acts
    form_field_names: dict[str, str] = {}  # a service's field name -> this view's form field
    # Sorts by free text ("name", "applicant.username"), which go by lower(...) as the catalog
    # and the API do, so that case does not split the order; each wants an index on lower(...).
    column_sort_ignoring_case: tuple[str, ...] = ()

    def record_label(self, model: Any) -> str:
        """What the console calls one record in its row buttons and headings ("Edit
        Kepler-452 b"): a view names its records by what people know them by."""
        return f"record {self.get_pk_value(model)}"

    def scaffold_auto_joins(self) -> list[Any]:
        """Flask-Admin loads with the rows the relations that a list column names itself; a
        column of a related record ("applicant.username") needs its relation loaded with them
        too, else each row loads it with a query of its own."""
        joined = super().scaffold_auto_joins()
        relations = {relation.key for relation in inspect(self.model).relationships
                     if relation.direction.name == "MANYTOONE"}
        keys = {relation.key for relation in joined}
        for name, _ in self._list_columns:
            head = name.split(".", 1)[0]
            if "." in name and head in relations and head not in keys:
                keys.add(head)
                joined.append(getattr(self.model, head))
        return joined

    def _may_write(self) -> bool:
        return self.write_permission is not None and can(self.write_permission)

    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.offers_create and self._may_write()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.offers_edit and self._may_write()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.offers_delete and self._may_write()

    @property
    def can_export(self) -> bool:  # type: ignore[override]
        return self.offers_export and can(self.permission)

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        permission = self.action_permissions.get(name)
        return permission is not None and can(permission)

    def _handle_view(self, name: str, **kwargs: Any):
        refused = super()._handle_view(name, **kwargs)
        if refused is not None:
            return refused
        if not all(_printable(value) for value in request.values.getlist("url")):
            abort(400)  # the way back to the list goes into a Location header
        ability = ENDPOINT_ABILITIES.get(name)
        if ability and not getattr(self, ability):
            abort(403)
        if name == "action_view" and not self.is_action_allowed(request.form.get("action", "")):
            abort(403)
        return None

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, IntegrityError):
            flash(CONFLICT_MESSAGE, "error")
            return True
        if isinstance(exc, ValidationError):
            return super().handle_view_exception(exc)
        raise exc  # a bug: let it reach the 500 page and the log, not a flash message

    @pass_context
    def list_header(self, context: Context) -> Markup:
        """The head cells of the list page's table (console/admin/rows.py)."""
        return rows.list_header(self, context)

    @pass_context
    def list_rows(self, context: Context, data: list[Any]) -> Markup:
        """The rows of the list page's table (console/admin/rows.py)."""
        return rows.list_rows(self, context, data)

    # --- paging: by number for the first MAX_OFFSET rows, by cursor from anywhere -------------

    def _get_list_extra_args(self) -> ViewArgs:
        """The list's arguments without the cursor, which only the pager's links and the way
        back to this very page carry (see _get_list_url)."""
        args = super()._get_list_extra_args()
        cursor = {name: args.extra_args.pop(name) for name in CURSOR_ARGS
                  if name in args.extra_args}
        g.console_list = (args, cursor)
        return args

    def _get_list_url(self, view_args: ViewArgs) -> str:
        """Back to this very page with its cursor; any other list (another sort, search or
        filter) from its first page."""
        args, cursor = g.get("console_list", (None, {}))
        if view_args is args:
            return self._list_url(view_args, **cursor)
        return super()._get_list_url(view_args.clone(page=None))

    def get_url(self, endpoint: str, **kwargs: Any) -> str:
        """url_for(endpoint, **kwargs), but the list's own links (a page has a dozen: its sort
        headers, pager and filters) share one url_for per request for their path; the query
        string is encoded as url_for encodes it."""
        if endpoint != ".index_view":
            return super().get_url(endpoint, **kwargs)
        paths = g.setdefault("console_list_paths", {})  # by the blueprint ".index_view" names
        if request.blueprint not in paths:
            paths[request.blueprint] = url_for(endpoint)
        path = paths[request.blueprint]
        query = urlencode([(name, value) for name, value in iter_multi_items(kwargs)
                           if value is not None], safe=URL_SAFE)
        return f"{path}?{query}" if query else path

    def _list_url(self, view_args: ViewArgs, **cursor: str) -> str:
        url = super()._get_list_url(view_args)
        return f"{url}{'&' if '?' in url else '?'}{urlencode(cursor)}" if cursor else url

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc: bool):
        """Flask-Admin's ordering by one field (ignoring case for column_sort_ignoring_case),
        then by id, so that pages neither repeat nor skip rows of equal value; the ordering is
        kept for the page's cursors."""
        if sort_field is None:
            return query, joins
        query, joins, alias = self._apply_path_joins(query, joins, sort_joins, inner_join=False)
        column = sort_field if alias is None else getattr(alias, sort_field.key)
        path = ".".join([*(join.key for join in sort_joins or ()), sort_field.key])
        if path in self.column_sort_ignoring_case:
            column = func.lower(column, type_=String)
        ordering = Ordering.on(db.engine.dialect.name, f"{'-' if sort_desc else ''}{path}",
                               self.sort_key(path, column), self.model.id, sort_desc)
        g.setdefault("console_orderings", []).append(ordering)
        return query.order_by(*ordering.order_by()), joins

    def sort_key(self, path: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
        """What the list sorts by for the field at `path`: `key` (the column, lowered for
        column_sort_ignoring_case), or its values in another form; cursors name `key`."""
        return key

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        if not execute or page_size == 0:
            return super().get_list(page, sort_column, sort_desc, search, filters, execute,
                                    page_size)
        if page is not None and page < 0:
            abort(400)  # Flask-Admin takes "page=-1" at its word
        g.console_orderings = []
        count, query = super().get_list(None, sort_column, sort_desc, search, filters,
                                        execute=False, page_size=0)
        if len(g.console_orderings) > 1:
            raise NotImplementedError("console lists sort by one field at a time")
        ordering = g.console_orderings[0] if g.console_orderings else \
            Ordering.on(db.engine.dialect.name, "id", self.model.id, self.model.id)
        result = self._read_page(query, ordering, page or 0, page_size or self.page_size)
        g.console_page = (page or 0, result)
        return count, result.items

    def _read_page(self, query, ordering: Ordering, page: int, size: int) -> Page[Any]:
        _, cursor = g.get("console_list", (None, {}))
        listed = query.order_by(None).add_columns(ordering.key, self.model.id)
        try:
            return read_page(fetch_from(db.session, listed.statement, ordering.id), ordering, size,
                             offset=page * size, **cursor)
        except PagingError:  # a cursor we did not make, or a page number too deep
            abort(400)

    def sort_url_of_list(self) -> Callable[..., str]:
        """Flask-Admin's sort_url(column, invert) of the list page just read, the same links,
        with the query string they share (search, page size, filters) encoded once rather than
        once per column: a sort link is the list's first page, sorted."""
        args, _ = g.console_list
        path, _, rest = self._get_list_url(args.clone(sort=None, sort_desc=False)).partition("?")
        shared = f"&{rest}" if rest else ""

        def sort_url(column: int, invert: bool = False) -> str:
            desc = "&desc=1" if invert and not args.sort_desc else ""
            return f"{path}?sort={column}{desc}{shared}"

        return sort_url

    def pager_links(self) -> PagerLinks:
        """The previous and next links of the list page just read."""
        args, _ = g.console_list
        number, page = g.get("console_page", (args.page or 0, Page([], None, None)))

        def page_url(number: int, **cursor: str) -> str:  # Flask-Admin counts pages from 0
            return self._list_url(args.clone(page=number - 1 or None), **cursor)

        return pager_links(page, number + 1, page_url)

    def get_one(self, id: str) -> Any:
        """The record of one id from a details, edit or delete request: anything but one whole
        number in the id range (a list "1,2", 99999999999) is no record, not a database error."""
        if whole_number(id) is None:
            return None
        return super().get_one(id)

    def selected(self, ids: list[str]) -> list[Any]:
        """The records a bulk action was asked for (ids arrive as text from the form)."""
        wanted = [number for number in map(whole_number, ids) if number is not None]
        return self.get_query().filter(self.model.id.in_(wanted)).all()

    def refused(self, error: DomainError, form: Any = None, outcome: str = "") -> None:
        """Show a service's refusal next to its fields on `form`, or else as a message that
        ends with `outcome` ("Nothing was deleted.")."""
        for name, messages in error.fields.items():
            field = getattr(form, self.form_field_names.get(name, name), None) if form else None
            if field is None:
                flash(" ".join([*(sentence(message) for message in messages), outcome]).strip(),
                      "error")
            else:
                field.errors = [*field.errors, *messages]

    def delete_records(self, records: list[Any]) -> None:
        """Delete records through their service, all or none; raises DomainError."""
        raise NotImplementedError

    def delete_model(self, model: Any) -> bool:
        try:
            self.delete_records([model])
        except DomainError as error:
            self.refused(error, outcome="Nothing was deleted.")
            return False
        return True

    @action("delete", "Delete", "Delete the selected records?")
    def action_delete(self, ids: list[str]) -> None:
        records = self.selected(ids)
        try:
            self.delete_records(records)
        except DomainError as error:
            self.refused(error, outcome="Nothing was deleted.")
            return
        flash(f"{len(records)} record(s) deleted.", "success")

