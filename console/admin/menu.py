"""The console's main menu, written here rather than by Flask-Admin's layout.menu() macro, which
every console page imports with its context (a copy of it and all its macros) to write a
handful of links.

The markup is the macro's for a menu without categories (the console has none; a category's
views would be listed in its place), with the page's own entry marked for screen readers
(aria-current).
"""

from __future__ import annotations

from flask_admin import BaseView
from flask_admin.menu import BaseMenu
from markupsafe import Markup, escape


def _entries(items: list[BaseMenu]) -> list[BaseMenu]:
    return [entry for item in items
            for entry in (item.get_children() if item.is_category() else [item])]


def main_menu(view: BaseView) -> Markup:
    """The <li> items of the menu of the console `view` belongs to: the views its user may
    open, `view`'s own marked active."""
    html = []
    for entry in _entries(view.admin.menu()):
        if not (entry.is_accessible() and entry.is_visible()):
            continue
        here = entry.is_active(view)
        item, current = ('nav-item active', ' aria-current="page"') if here else ('nav-item', '')
        html.append(f'<li class="{item}"><a class="nav-link" href="{escape(entry.get_url())}"'
                    f'{current}>{escape(entry.name)}</a></li>')
    return Markup("".join(html))  # noqa: S704 - every value above went through escape()
