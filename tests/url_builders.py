"""URL builders shared by the many apps of a test run, as their compiled templates are.

Werkzeug compiles a Python function (from an AST) to build the URLs of each rule an app adds:
two per rule, some 115 rules per app, 60 % of the time create_app() takes, and the tests build
an app per test. A builder is made from the rule's parsed parts (its `_trace`), its defaults
and whether it appends unknown arguments, and it reads everything else through the rule it is
bound to, so rules alike in those share one function here. Without werkzeug's
`Rule._compile_builder` (a later release), every app compiles its own, as in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from werkzeug.routing.rules import Rule


@contextmanager
def shared_url_builders() -> Iterator[None]:
    compile_builder: Callable[..., Any] | None = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:
        yield
        return
    builders: dict[tuple[Any, ...], Callable[..., Any]] = {}

    def shared(rule: Rule, append_unknown: bool = True) -> Callable[..., Any]:
        key = (rule.rule, tuple(rule._trace), repr(sorted((rule.defaults or {}).items())),
               append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", shared)
        yield
