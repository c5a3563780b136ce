"""The head and rows of a console list page's table, written here rather than in its template:
twenty rows of buttons and cells are most of the page, and every value a template writes costs
a look-up, a call and an escape, where here what all rows share is worked out once per page.

The markup is what Flask-Admin's list template writes, with a name on each icon button and
checkbox after the record it acts on ("Edit Kepler-452 b", from the view's record_label), and
the sorted column's order told to screen readers (aria-sort);
templates/admin/model/console_list.html puts the table around it.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any
from urllib.parse import quote_plus

from flask_wtf.csrf import generate_csrf
from jinja2.runtime import Context
from markupsafe import Markup, escape

ICONS = {  # of Flask-Admin's row actions, by their template name
    kind: f'<span class="{classes}" aria-hidden="true"></span>' for kind, classes in {
        "row_actions.view_row": "fa fa-eye glyphicon glyphicon-eye-open",
        "row_actions.edit_row": "fa fa-pencil glyphicon glyphicon-pencil",
        "row_actions.delete_row": "fa fa-trash glyphicon glyphicon-trash",
    }.items()
}
VERBS = {"row_actions.view_row": "View", "row_actions.edit_row": "Edit",
         "row_actions.delete_row": "Delete"}
SORT_ICONS = {  # by whether the list is sorted descending
    descending: f'<span class="fa fa-chevron-{way} glyphicon glyphicon-chevron-{way}" '
                'aria-hidden="true"></span>'
    for descending, way in ((False, "up"), (True, "down"))
}


def list_header(view: Any, context: Context) -> Markup:
    """The <th> cells of the table's head: the bulk checkbox's, the buttons' and a sort link on
    each sortable column (the sorted one's link turns the order round)."""
    html = []
    if context["actions"]:
        html.append('<th class="list-checkbox-column"><input type="checkbox" name="rowtoggle" '
                    'class="action-rowtoggle" title="Select all records"></th>')
    if view.column_display_actions:
        html.append('<th scope="col"><span class="sr-only">Actions</span></th>')
    sort_url, sorted_index, descending = (view.sort_url_of_list(), context["sort_column"],
                                          bool(context["sort_desc"]))
    for index, (name, title) in enumerate(context["list_columns"]):
        shown = escape(title)
        order, cell = "", shown
        if view.is_sortable(name):
            hint = escape(f"Sort by {title}")
            if index == sorted_index:
                order = f' aria-sort="{"descending" if descending else "ascending"}"'
                cell = (f'<a href="{escape(sort_url(index, True))}" title="{hint}">{shown} '
                        f'{SORT_ICONS[descending]}</a>')
            else:
                cell = f'<a href="{escape(sort_url(index))}" title="{hint}">{shown}</a>'
        if description := view.column_descriptions.get(name):
            cell += (f' <a class="fa fa-question-circle glyphicon glyphicon-question-sign" '
                     f'title="{escape(description)}" href="javascript:void(0)" '
                     f'data-role="tooltip"></a>')
        html.append(f'<th scope="col" class="column-header col-{escape(name.replace(".", "-"))}"'
                    f'{order}>{cell}</th>')
    return Markup("".join(html))  # noqa: S704 - every value above went through escape()


def cell_reader(view: Any, context: Context, name: str) -> Callable[[Any], Any]:
    """What Flask-Admin's get_list_value shows in column `name` of a row, with what every row
    shares (the column's formatter or attribute path, its choices) looked up once per page and
    each type's formatter once per type of value."""
    formatter = view.column_formatters.get(name)
    path = attrgetter(name)  # follows a dotted name ("planet.name") as Flask-Admin does
    choices = view._column_choices_map.get(name)
    by_type: dict[type, Callable[..., Any] | None] = {}

    def shown(row: Any) -> Any:
        if formatter is not None:
            value = formatter(view, context, row, name)
        else:
            try:
                value = path(row)
            except AttributeError:  # a missing related record: Flask-Admin shows nothing
                value = None
        if choices:
            return choices.get(value) or value
        kind = type(value)
        if kind not in by_type:
            by_type[kind] = next((type_formatter for base, type_formatter
                                  in view.column_type_formatters.items()
                                  if isinstance(value, base)), None)
        type_formatter = by_type[kind]
        return value if type_formatter is None else type_formatter(view, value, name)

    return shown


def list_rows(view: Any, context: Context, rows: list[Any]) -> Markup:
    """A <tr> for each of `rows`, from the list template's `context`. Every value in them goes
    through escape(); a custom row action writes its own markup, with its own template."""
    return_url = context["return_url"]
    links = {  # the details and edit links of every row, but for the row's id
        "row_actions.view_row": escape(view.get_url(".details_view", url=return_url) + "&id="),
        "row_actions.edit_row": escape(view.get_url(".edit_view", url=return_url) + "&id="),
    }
    delete_url = escape(view.get_url(".delete_view"))
    delete_form = f'<form class="icon" method="POST" action="{delete_url}">'
    delete_fields = (f'<input type="hidden" name="url" value="{escape(return_url)}">'
                     f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">')
    confirm = escape(view.delete_confirmation)
    select = bool(context["actions"])  # a checkbox on each row for the bulk actions
    buttons = [(action, getattr(action, "template_name", None))
               for action in context["list_row_actions"]]
    columns = [(f'<td class="col-{escape(name)}">', cell_reader(view, context, name))
               for name, _ in view._list_columns]

    html = []
    for row in rows:
        pk = view.get_pk_value(row)
        if type(pk) is int:  # digits need no escaping
            shown_pk = linked_pk = str(pk)
        else:
            shown_pk, linked_pk = escape(pk), quote_plus(str(pk))
        label = view.record_label(row)
        html.append("<tr>")
        if select:
            html.append(f'<td><input type="checkbox" name="rowid" class="action-checkbox" '
                        f'value="{shown_pk}" aria-label="{escape(f"Select {label}")}"></td>')
        if view.column_display_actions:
            html.append('<td class="list-buttons-column">')
            for action, kind in buttons:
                name = escape(f"{VERBS[kind]} {label}") if kind in VERBS else ""
                if kind in links:
                    html.append(f'<a class="icon" href="{links[kind]}{linked_pk}" title="{name}" '
                                f'aria-label="{name}">{ICONS[kind]}</a>')
                elif kind == "row_actions.delete_row":
                    html.append(f'{delete_form}<input type="hidden" name="id" value="{shown_pk}">'
                                f'{delete_fields}<button data-confirm="{confirm}" title="{name}" '
                                f'aria-label="{name}">{ICONS[kind]}</button></form>')
                else:
                    html.append(escape(action.render_ctx(context, pk, row)))
            html.append("</td>")
        for cell, value_of in columns:
            html.append(f"{cell}{escape(value_of(row))}</td>")
        html.append("</tr>")
    return Markup("".join(html))  # noqa: S704 - every value above went through escape()
