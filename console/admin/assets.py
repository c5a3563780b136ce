"""Links to static files (Bootstrap, jQuery, our CSS), built once per app and site root: a
console page links about twenty, they never change while the app runs, and each url_for costs
about as much as a row of the planets table."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask, current_app, has_request_context, request, url_for

_built: WeakKeyDictionary[Flask, dict[tuple, str]] = WeakKeyDictionary()


def static_url(endpoint: str, **values: Any) -> str:
    """url_for(endpoint, **values) for a static file endpoint ('static', 'admin.static')."""
    if not has_request_context():
        return url_for(endpoint, **values)
    urls = _built.setdefault(current_app._get_current_object(), {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    if key not in urls:
        urls[key] = url_for(endpoint, **values)
    return urls[key]
