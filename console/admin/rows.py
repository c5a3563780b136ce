"""The rows of a console list page, written here rather than in its template: twenty rows of
buttons and cells are most of the page, and every value a template writes costs a look-up, a
call and an escape, where here what all rows share is worked out once per page.

The markup is what Flask-Admin's list template writes, with a name on each icon button and
checkbox after the record it acts on ("Edit Kepler-452 b", from the view's record_label);
templates/admin/model/console_list.html puts the table around it.
"""

from __future__ import annotations

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
    columns = [(name, escape(name)) for name, _ in view._list_columns]

    html = []
    for row in rows:
        pk = view.get_pk_value(row)
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
        for name, css_name in columns:
            html.append(f'<td class="col-{css_name}">'
                        f'{escape(view.get_list_value(context, row, name))}</td>')
        html.append("</tr>")
    return Markup("".join(html))  # noqa: S704 - every value above went through escape()
