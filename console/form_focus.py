"""Focus on the first invalid field of a page after a failed save, with the `autofocus`
attribute: the form macros (templates/_macros.html, templates/admin/model/_form.html) ask
first_invalid_field() for each field they render with errors, and only the first one asked in
a request gets the attribute (a page has one autofocus at most). No script is needed."""

from __future__ import annotations

from flask import Flask, g


def first_invalid_field() -> bool:
    """True for the first invalid field rendered in this request, False for the others."""
    if g.get("invalid_field_focused"):
        return False
    g.invalid_field_focused = True
    return True


def init_form_focus(app: Flask) -> None:
    app.jinja_env.globals["first_invalid_field"] = first_invalid_field
