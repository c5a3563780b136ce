"""Hostile input to every route and every console view: the app answers each with a 4xx or a
page, never a 5xx, a traceback or an exception.

What it sends
    Every rule of `app.url_map` with every method but HEAD and OPTIONS, and every Flask-Admin
    view (`app.extensions["admin"][0]._views`). The parameters are found, not listed: this app's
    request class is given a MultiDict that notes every key a view asks for (`get`, `getlist`,
    `[]`, `in`), so a baseline request to each endpoint as each role tells which query
    parameters and form fields it reads; to those are added the fields of every HTML form that
    posts to the endpoint (parsed from the pages crawled), Flask-Admin's list arguments
    (`search`, `sort`, `desc`, `page`, `page_size`, every `flt0_<n>` of `view._filter_args`,
    `after`, `before`) and its `id`, `url`, `rowid`, `action`. Path converters get valid ids of
    seeded rows, boundary numbers and hostile text; the JSON API's writes get every planet field
    with a wrong type and bodies of every wrong shape; every form also gets each field as a
    file upload and JSON bodies (Flask-WTF reads a JSON body as the form); paging cursors are
    forged from real ones (same order name, huge or odd values and ids).

    Each (endpoint, method, parameter, hostile value) is sent once, as one of the roles that
    get past the endpoint's access check (taken in turn), and each role that does not get
    one request with everything hostile at once. Query strings and form bodies are
    percent-encoded here, byte for byte (the test client would refuse or re-encode some of
    the values), so `%ff%fe` and an encoded lone surrogate arrive as a client sends them.
    Read-only requests go first, writes next, deletes, bulk actions and logouts last; the rows
    the console may change are seeded victims, and when a request logs a role out or changes
    its account (a password, a login of the anonymous client) the role is restored and logged
    in again before the next request.

CSRF
    The conftest turns CSRF protection off; this module turns it back on (`app_config`) and logs
    every role in through the login form with a token. Every POST carries the client's valid
    token (form field and `X-CSRFToken` header) unless the token itself is the field under
    test, so the values reach the views as a browser's would, behind the same check, and the
    check gets hostile tokens too. Rate limits are raised so that they never answer first
    (the login lockout path is then exercised on purpose, at the end).

Failures
    Any status >= 500, a body with "Traceback", an exception out of the client (the error page
    itself failing) or a streamed body breaking. `PROPAGATE_EXCEPTIONS` is off, so the app's
    own 500 page runs; `got_request_exception` and the engine's `handle_error` event give the
    exception and the product file and line. All requests are sent, then one assertion lists
    every failing request grouped by cause.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
import traceback
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
from flask import Flask, got_request_exception
from flask import request as flask_request
from flask.testing import FlaskClient
from sqlalchemy import delete, event, select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound

from console.services import applications
from models import ApiToken, Planet, User, UserSession, db
from models.api_tokens import secret_hash
from tests.conftest import PASSWORD, csrf_token_from

PROJECT = Path(__file__).resolve().parent.parent
ROLES = ("anonymous", "member", "viewer", "editor", "admin")
NO_LIMIT = "1000000 per minute"
DEADLINE_SECONDS = 900  # a safety net against a hang: the run took ~300 s on a slow CI machine
TRACEBACK = b"Traceback (most recent call last)"


@pytest.fixture
def app_config() -> dict:
    return {
        "WTF_CSRF_ENABLED": True,
        "PROPAGATE_EXCEPTIONS": False,  # the app's own 500 page runs, as in production
        "LOGIN_RATE_LIMIT": NO_LIMIT,
        "REGISTER_RATE_LIMIT": NO_LIMIT,
        "RESET_RATE_LIMIT": NO_LIMIT,
        "CONFIRM_RATE_LIMIT": NO_LIMIT,
        "API_RATE_LIMIT": NO_LIMIT,
        "API_WRITE_RATE_LIMIT": NO_LIMIT,
    }


# --- hostile values ---------------------------------------------------------------------------

LONG = "x" * 10_000
TEXT_VALUES = [
    "99999999999999999999", "-99999999999999999999", str(2**31), str(2**63), "-1", "0", "1,2",
    "\x00", "a\x00b", "\ud7ff", "a\ud7ff", "\U0010ffff", "\ufffe", "\uffff", "line\nbreak",
    "\r\n", "\u2028", LONG, "", " ", "1.5", "1e400", "nan", "true", "//evil.example/",
    "javascript:alert(1)", "\u202egnp.exe", "'\"<>\\",
]
# Sent as they are: invalid UTF-8 (0xff 0xfe, an encoded lone surrogate, an overlong NUL) and
# broken percent-encoding.
RAW_VALUES = ["%ff%fe", "%ED%A0%80", "%C0%80", "%zz", "%", "%2"]
INT_PATH_VALUES = ["0", "1", str(2**31 - 1), str(2**31), str(2**63 - 1), str(2**63),
                   "99999999999999999999", "-1", "1,2", "01", "\uff11", "1.0", "%00"]
JSON_VALUES = [
    "[]", "[1, 2]", "{}", '{"a": 1}', "true", "false", "null", "99999999999999999999",
    "-99999999999999999999", str(2**31), str(2**63), "-1", "0", "1.5", "1e400", "-1e400",
    "1e-400", "NaN", "Infinity", "-Infinity", '"\\u0000"', '"a\\u0000b"', '"\\ud800"',
    '"\\udfff"', '"\\ud7ff"', '"a\\ud7ff"', '"\\udbff\\udfff"', '"\\ufffe"', '"line\\nbreak"',
    json.dumps(LONG), '""', '" "', '"1,2"', '"99999999999999999999"', '"1e400"', '"NaN"',
    '"-1"', '"%ff%fe"',
]
DEEP = 100_000


def _label(value: str) -> str:
    if len(value) > 60:
        return f"{value[:1]!r} * {len(value)}" if len(set(value)) == 1 else repr(value[:50]) + "…"
    return repr(value)


@dataclass(frozen=True)
class Value:
    label: str
    encoded: str  # as it goes into a URL or a form body: ASCII, percent-encoded


def text_value(text: str) -> Value:
    return Value(_label(text), quote(text, safe=""))


def query_values(extra: list[str]) -> list[Value]:
    return [text_value(v) for v in [*TEXT_VALUES, *extra]] + \
        [Value(f"raw {raw}", raw) for raw in RAW_VALUES]


# --- watching which parameters a view reads ---------------------------------------------------

class Reads:
    """The query and form keys views asked for since start()."""

    def __init__(self) -> None:
        self.keys: dict[str, set[str]] | None = None

    def start(self) -> None:
        self.keys = {"query": set(), "form": set(), "body": set()}

    def stop(self) -> dict[str, set[str]]:
        keys, self.keys = self.keys or {"query": set(), "form": set(), "body": set()}, None
        return keys

    def body(self) -> None:
        if self.keys is not None:
            self.keys["body"].add("read")


READS = Reads()


class WatchedMultiDict(ImmutableMultiDict):
    def _note(self, key: Any) -> None:
        if READS.keys is not None and isinstance(key, str):
            try:
                is_args = flask_request._get_current_object().__dict__.get("args") is self
            except RuntimeError:
                return
            READS.keys["query" if is_args else "form"].add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self._note(key)
        return super().__contains__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - MultiDict's signature
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)


# --- pages: links and forms -------------------------------------------------------------------

@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str | None]]  # (name, value); None: an unchecked box, not sent


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: list | None = None  # [name, first option, selected option]
        self._textarea: list | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form":
            self._form = Form(a.get("action", ""), (a.get("method") or "GET").upper(), [])
            self.forms.append(self._form)
            return
        form, name = self._form, a.get("name")
        if form is None:
            return
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                form.fields.append((name, a.get("value") or "y" if "checked" in a else None))
            else:
                form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = [name, None, None]
        elif tag == "option" and self._select is not None:
            if self._select[1] is None:
                self._select[1] = a.get("value", "")
            if "selected" in a:
                self._select[2] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "button" and name and a.get("type", "submit") == "submit" and not any(
                k == name for k, _ in form.fields):
            form.fields.append((name, a.get("value", "")))  # the first, as if it were pressed

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            name, first, chosen = self._select
            if self._form is not None:
                self._form.fields.append((name, chosen if chosen is not None else first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form.fields.append(tuple(self._textarea))
            self._textarea = None


# --- actors: one logged-in client per role ----------------------------------------------------

@dataclass
class Actor:
    role: str
    client: FlaskClient
    csrf: str = ""
    user_id: int | None = None
    username: str = ""
    session_token: str = ""
    token: str | None = None  # API bearer token
    user: Any = None
    anonymous_cookie: str | None = None


class Actors:
    def __init__(self, app: Flask, make_user, make_token) -> None:
        self.app = app
        self.serializer = app.session_interface.get_signing_serializer(app)
        self.by_role: dict[str, Actor] = {}
        for role in ROLES:
            actor = Actor(role, app.test_client())
            if role != "anonymous":
                user = make_user(f"fuzz_{role}", role=role)
                actor.user, actor.user_id, actor.username = user, user.id, user.username
                actor.token = make_token(user)
            self.by_role[role] = actor
            self.log_in(actor)

    def _session(self, client: FlaskClient) -> dict:
        cookie = client.get_cookie("session")
        if cookie is None:
            return {}
        try:
            return self.serializer.loads(cookie.value)
        except Exception:  # noqa: BLE001 - a cookie the app replaced with garbage
            return {}

    def log_in(self, actor: Actor) -> None:
        actor.client = self.app.test_client()
        page = actor.client.get("/login")
        actor.csrf = csrf_token_from(page.get_data(as_text=True))
        if actor.role == "anonymous":
            actor.anonymous_cookie = actor.client.get_cookie("session").value
            return
        response = actor.client.post("/login", data={
            "username": actor.username, "password": PASSWORD, "csrf_token": actor.csrf})
        assert response.status_code == 302, f"the fuzz test could not log in as {actor.role}"
        actor.session_token = self._session(actor.client)["_user_id"]

    def settle(self, actor: Actor, method: str) -> None:
        """Undo what a request did to the actor's own session or account (a logout, a login
        of the anonymous client, a password change), so later requests keep their role."""
        session = self._session(actor.client)
        if actor.role == "anonymous":
            if "_user_id" in session or actor.client.get_cookie("remember_token"):
                actor.client = self.app.test_client()
                actor.client.set_cookie("session", actor.anonymous_cookie)
            return
        if session.get("_user_id") == actor.session_token and method == "GET":
            return
        with self.app.app_context():
            user = db.session.get(User, actor.user_id)
            live = db.session.scalar(select(UserSession.id).where(
                UserSession.token_hash == secret_hash(actor.session_token)))
            same = (user is not None and live is not None and user.is_active
                    and user.role == actor.role and user.username == actor.username
                    and not user.must_change_password)
            if same and session.get("_user_id") == actor.session_token:
                return
            if user is not None and not same:
                user.role, user.is_active, user.username = actor.role, True, actor.username
                user.set_password(PASSWORD)
                user.must_change_password = False
                db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
                db.session.commit()
        self.log_in(actor)


# --- requests and failures --------------------------------------------------------------------

@dataclass
class Probe:
    phase: int  # 0 read, 1 write, 2 delete / bulk action / logout
    method: str
    url: str  # path and query, ASCII
    role: str
    target: str  # what is hostile: "query page", "form email", "json mass_earth", ...
    value: str
    form: list[tuple[str, str]] | None = None  # (name, encoded value); the CSRF token is added
    body: bytes | None = None
    content_type: str | None = None
    files: dict | None = None
    headers: dict[str, str] | None = None
    csrf: bool = True


@dataclass
class Failure:
    probe: Probe
    status: int | None
    causes: list[str] = field(default_factory=list)
    key: str = ""


def _short_path(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.relative_to(PROJECT))
    except ValueError:
        parts = path.parts
        return "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts \
            else filename


def _product_frame(frames: list[traceback.FrameSummary]) -> str:
    own = [f for f in frames if f.filename.startswith(str(PROJECT))
           and "/.venv/" not in f.filename and "/tests/" not in f.filename]
    if not own:
        return "no product frame"
    return f"{_short_path(own[-1].filename)}:{own[-1].lineno} in {own[-1].name}"


def _exception_cause(exc: BaseException) -> tuple[str, str]:
    """(the key of the cause, the cause with its message) of an exception."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = _product_frame(frames)
    last = f"{_short_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    message = (str(exc).splitlines() or [""])[0][:200]
    if where == "no product frame":
        where = f"{last} (no product frame)"
    key, text = f"{kind} at {where}", f"{kind} at {where} (raised in {last}): {message}"
    earlier = exc.__cause__ or exc.__context__
    if earlier is not None and where.endswith("(no product frame)"):
        # a library that handled a product's exception by raising its own (Flask-Admin retries
        # a view that raised TypeError): the product's exception is the cause
        earlier_key, earlier_text = _exception_cause(earlier)
        key, text = earlier_key, f"{earlier_text}; then {text}"
    return key, text


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Fuzzer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.actors: Actors
        self.failures: list[Failure] = []
        self.sent = 0
        self.csrf_refusals: list[Probe] = []
        self.exceptions: list[BaseException] = []
        self.db_errors: list[str] = []
        self.log = Recorder()
        self.unique = count(1)

    def __enter__(self) -> Fuzzer:
        got_request_exception.connect(self._exception, self.app)
        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "handle_error", self._db_error)
        self.loggers = {}
        for logger in (self.app.logger, logging.getLogger("console.requests")):
            self.loggers[logger] = (logger.handlers[:], logger.propagate, logger.disabled)
        self.app.logger.handlers[:] = [self.log]
        self.app.logger.propagate = False
        logging.getLogger("console.requests").disabled = True  # one line per request
        return self

    def __exit__(self, *exc_info: Any) -> None:
        got_request_exception.disconnect(self._exception, self.app)
        event.remove(self.engine, "handle_error", self._db_error)
        for logger, (handlers, propagate, disabled) in self.loggers.items():
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled

    def _exception(self, sender: Flask, exception: BaseException, **extra: Any) -> None:
        self.exceptions.append(exception)

    def _db_error(self, context) -> None:
        where = _product_frame(traceback.extract_stack())
        exc = context.original_exception
        message = (str(exc).splitlines() or [""])[0][:200]
        self.db_errors.append(f"database error {type(exc).__module__}.{type(exc).__qualname__} "
                              f"from {where}: {message}")

    def send(self, probe: Probe, actor: Actor | None = None, reads: dict | None = None):
        """Send one probe; record it when the app fails. Returns the response or None; with
        `reads`, fills it with the keys the view read."""
        actor = actor or self.actors.by_role[probe.role]
        headers = dict(probe.headers or {})
        if probe.url.startswith("/api") and actor.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {actor.token}"
        kwargs: dict[str, Any] = {"method": probe.method, "headers": headers}
        if probe.method != "GET" and probe.csrf:
            headers.setdefault("X-CSRFToken", actor.csrf)
        if probe.files is not None:
            data = dict(probe.files)
            if probe.csrf:
                data.setdefault("csrf_token", actor.csrf)
            kwargs["data"] = data
        elif probe.form is not None:
            pairs = list(probe.form)
            if probe.csrf and not any(name == "csrf_token" for name, _ in pairs):
                pairs.append(("csrf_token", quote(actor.csrf, safe="")))
            kwargs["data"] = "&".join(f"{quote(n, safe='')}={v}" for n, v in pairs).encode()
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        elif probe.body is not None:
            kwargs["data"] = probe.body
            if probe.content_type:
                kwargs["content_type"] = probe.content_type
        self.exceptions, self.db_errors, self.log.records = [], [], []
        self.sent += 1
        response, status, causes = None, None, []
        if reads is not None:
            READS.start()
        try:
            response = actor.client.open(probe.url, **kwargs)
            status = response.status_code
            body = response.get_data()  # a streamed body runs here
        except Exception as exc:  # noqa: BLE001 - the error page or a stream failed
            body = b""
            key, text = _exception_cause(exc)
            causes.append(("escaped the app: " + key, "escaped the app: " + text))
        finally:
            if reads is not None:
                reads.update(READS.stop())
        for exc in self.exceptions:
            causes.insert(0, _exception_cause(exc))
        failed = bool(causes) or (status is not None and status >= 500) or TRACEBACK in body
        if failed:
            details = [text for _, text in causes] + self.db_errors + [
                f"logged: {record.getMessage()[:200]}" for record in self.log.records]
            if causes:
                key = causes[0][0]
            elif self.db_errors:
                key = self.db_errors[0].split(":")[0]
            elif self.log.records:
                key = f"status {status}, logged: {self.log.records[0].getMessage()[:80]}"
            else:
                key = f"status {status} without an exception: {body[:80]!r}"
            self.failures.append(Failure(probe, status, details, key))
        elif status == 400 and b"did not come from this site" in body and \
                "csrf_token" not in probe.target:
            self.csrf_refusals.append(probe)
        self.actors.settle(actor, probe.method)
        return response

    def report(self) -> str:
        groups: dict[str, dict[tuple, set]] = defaultdict(dict)
        details: dict[str, list[str]] = {}
        for failure in self.failures:
            p = failure.probe
            url = p.url if len(p.url) <= 160 else p.url[:157] + "..."
            entry = (p.method, url, p.target, p.value, failure.status)
            groups[failure.key].setdefault(entry, set()).add(p.role)
            details.setdefault(failure.key, failure.causes)
        lines = [f"{len(self.failures)} of {self.sent} requests failed, "
                 f"{len(groups)} distinct causes:"]
        for number, (key, entries) in enumerate(sorted(groups.items()), 1):
            lines.append(f"\n[{number}] {key}  ({len(entries)} requests)")
            lines.extend(f"      {text}" for text in dict.fromkeys(details[key]))
            for (method, url, target, value, status), roles in sorted(
                    entries.items(), key=lambda item: str(item[0])):
                lines.append(f"    {method} {url}  [{target} = {value}] as "
                             f"{'/'.join(sorted(roles))} -> {status}")
        return "\n".join(lines)


# --- seeding ----------------------------------------------------------------------------------

@dataclass
class Seeded:
    planet_ids: list[int]
    planet_names: list[str]
    victim_ids: list[int]
    victim_token_id: int
    application_id: int
    spare_token_id: int
    member_name: str


def seed(app: Flask, make_user, make_planet, make_token, actors: Actors) -> Seeded:
    planet_ids, names = [], []
    for n in range(26):  # more than a page of the catalog (25), the API (25), the console (20)
        name = f"Fuzz seed {n:02d}"
        planet_ids.append(make_planet(
            name=name, host_star=f"Star {n % 3}", discovery_year=1990 + n,
            mass_earth=1.0 + n, radius_earth=1.0 + n / 10, distance_ly=10.0 + n,
            semi_major_axis_au=0.5 + n, equilibrium_temp_k=200.0 + n,
            description="A seeded planet.", source="seed"))
        names.append(name)
    victims = [make_user(f"victim{n}") for n in range(1, 5)]  # the console's user targets
    make_token(victims[0], "victim token")
    make_token(actors.by_role["editor"].user, "spare")  # the account page's revoke target
    with app.app_context():
        member = db.session.get(User, actors.by_role["member"].user_id)
        application = applications.submit(member, db.session.get(Planet, planet_ids[0]),
                                          "To see it.")
        applications.submit(db.session.get(User, victims[1].id),
                            db.session.get(Planet, planet_ids[1]), "Me too.")
        application_id = application.id
        tokens = {t.name: t.id for t in db.session.scalars(select(ApiToken))}
    return Seeded(planet_ids, names, [v.id for v in victims], tokens["victim token"],
                  application_id, tokens["spare"], victims[2].username)


# --- building the requests --------------------------------------------------------------------

RULE_ARGUMENT = re.compile(r"<(?:[^<>:]*:)?([^<>]+)>")


def _rule_path(rule, values: dict[str, str]) -> str:
    """The rule's path with each converter's argument replaced by its (encoded) value."""
    return RULE_ARGUMENT.sub(lambda match: values[match[1]], rule.rule)


def _with_query(url: str, name: str, encoded: str | None, *, keep: bool = False) -> str:
    """`url` with the query parameter `name` set to `encoded` (already encoded); None drops
    it; keep=True adds it once more instead of replacing it."""
    path, _, query = url.partition("?")
    pairs = [p for p in query.split("&") if p] if query else []
    if not keep:
        pairs = [p for p in pairs if p.split("=", 1)[0] != quote(name, safe="")]
    if encoded is not None:
        pairs.append(f"{quote(name, safe='')}={encoded}")
    return f"{path}?{'&'.join(pairs)}" if pairs else path


def _decode_cursor(text: str) -> list | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, list) and len(value) == 3 else None


def _cursor(payload: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def forged_cursors(name: str, value: Any, row_id: int) -> list[tuple[str, str]]:
    big = 2**31
    forged = [
        ("id 2**31", [name, value, big]), ("id 2**63-1", [name, value, 2**63 - 1]),
        ("id 2**63", [name, value, 2**63]), ("id 0", [name, value, 0]),
        ("id -1", [name, value, -1]), ("id 1.5", [name, value, 1.5]),
        ("id '1'", [name, value, "1"]), ("value 2**31, id 2**31", [name, big, big]),
        ("value 2**31", [name, big, 1]), ("value 2**63-1", [name, 2**63 - 1, 1]),
        ("value -2**63", [name, -(2**63), 1]), ("value 1e308", [name, 1e308, 1]),
        ("value 1.5", [name, 1.5, 1]), ("value U+D7FF", [name, "\ud7ff", 1]),
        ("value 'a'+U+D7FF", [name, "a\ud7ff", 1]), ("value lone surrogate", [name, "\ud800", 1]),
        ("value NUL", [name, "a\x00b", 1]), ("value long text", [name, "x" * 1400, 1]),
        ("value true", [name, True, 1]), ("value null, id 2**31", [name, None, big]),
        ("value []", [name, [], 1]), ("value 9999-12-31", [name, "9999-12-31T23:59:59", 1]),
        ("value 2024-02-30", [name, "2024-02-30", 1]),
        ("name of another order", ["zz", value, row_id]),
    ]
    cursors = [(label, _cursor(payload)) for label, payload in forged]
    cursors += [("not base64", "!!!"), ("empty", ""), ("{}", _cursor({})),
                ("truncated JSON", _cursor(b'["' + name.encode() + b'", 1')),
                ("4 items", _cursor([name, value, row_id, 1])),
                ("too long", "A" * 2100), ("deep", _cursor(b"[" * 5000 + b"]" * 5000))]
    return cursors


def _unique_fill(name: str, n: int) -> str | None:
    lowered = name.lower()
    if lowered in ("name", "username"):
        return f"fuzz{n}"
    if "email" in lowered:
        return f"fuzz{n}@example.com"
    return None


def _fill(name: str, value: str | None, seeded: Seeded) -> str | None:
    """A baseline value for an empty form field, so that the others pass and the hostile one
    reaches as far as it can."""
    if value:
        return value
    lowered = name.lower()
    if "password" in lowered or lowered == "confirm":
        return PASSWORD
    if lowered == "planet":
        return seeded.planet_names[5]
    if lowered in ("motivation", "review_note", "description"):
        return "To see it."
    if lowered == "host_star":
        return "Star 1"
    return value


def _kind(endpoint: str) -> str:
    return endpoint.rsplit(".", 1)[-1]


ADMIN_QUERY = {  # what Flask-Admin reads by iterating request.args, or before a form exists
    "index_view": ["search", "sort", "desc", "page", "page_size", "after", "before"],
    "export": ["search", "sort", "desc", "page", "page_size", "after", "before"],
    "details_view": ["id", "url", "modal"], "edit_view": ["id", "url", "modal"],
    "create_view": ["url", "modal"], "ajax_lookup": ["name", "query", "offset", "limit"],
}
ADMIN_FORM = {"delete_view": ["id", "url"], "action_view": ["action", "rowid", "url"],
              "ajax_update": ["list_form_pk", "value"]}
DESTRUCTIVE = ("delete", "action", "archive", "withdraw", "revoke", "logout")
# the site's and API's query parameters, all hostile at once for each role an endpoint turns away
SITE_QUERY = ["q", "type", "method", "page", "per_page", "sort", "after", "before",
              "discovered_from", "discovered_to", "archived", "next", "planet"]


@dataclass
class Endpoint:
    rule: Any
    method: str
    endpoint: str
    url: str  # baseline: path with valid values, and the query of a link to it
    form: list[tuple[str, str | None]] = field(default_factory=list)
    query_reads: set[str] = field(default_factory=set)
    form_reads: set[str] = field(default_factory=set)
    reads_body: bool = False
    status: dict[str, int] = field(default_factory=dict)
    reaching: list[str] = field(default_factory=list)
    role_reads: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def keep_deepest(self) -> None:
        """Of the roles past the access check, keep those that read the most inputs: a logged-in
        user sent away from the login form gets past no check but reads nothing either."""
        if self.reaching:
            most = max(len(self.role_reads[role]) for role in self.reaching)
            self.reaching = [r for r in self.reaching if len(self.role_reads[r]) == most]

    @property
    def phase(self) -> int:
        if self.method == "GET":
            return 0
        if self.method == "DELETE" or any(word in self.endpoint for word in DESTRUCTIVE):
            return 2
        return 1


def _form_score(item: tuple[str, Form], preferred: set[str]) -> int:
    """0 for a form about one of the rows this test may change (victims), else 1."""
    action, form = item
    ids = {v for k, v in parse_qsl(urlsplit(action).query) if k == "id"} | {
        v for k, v in form.fields if k in ("id", "rowid")}
    return 0 if ids & preferred else 1


def _reaches(response) -> bool:
    """Whether a response came from past the endpoint's access check."""
    if response is None:
        return True  # it failed inside: it got there
    if response.status_code in (401, 403):
        return False
    location = response.headers.get("Location", "")
    return not (response.status_code in (301, 302, 303) and "/login" in location)


class Plan:
    def __init__(self, app: Flask, fuzzer: Fuzzer, seeded: Seeded) -> None:
        self.app, self.fuzzer, self.seeded = app, fuzzer, seeded
        self.adapter = app.url_map.bind("localhost")
        self.admin = app.extensions["admin"][0]
        self.views = {view.endpoint: view for view in self.admin._views}
        self.links: dict[str, list[str]] = defaultdict(list)
        self.forms: dict[str, list[tuple[str, Form]]] = defaultdict(list)
        self.cursors: dict[str, dict[tuple, tuple[str, list]]] = defaultdict(dict)
        self.probes: list[Probe] = []
        self.turn: dict[str, int] = defaultdict(int)
        self.unique = count(1)

    # valid values of path converters, by argument name
    def path_values(self, rule, destructive: bool) -> dict[str, str]:
        s = self.seeded
        values = {}
        for name in rule.arguments:
            converter = type(rule._converters[name]).__name__
            if converter == "IntegerConverter":
                values[name] = {
                    "planet_id": str(s.planet_ids[-1] if destructive else s.planet_ids[2]),
                    "application_id": str(s.application_id),
                    "token_id": str(s.spare_token_id),
                }.get(name, "1")
            else:
                values[name] = {"username": s.member_name, "export_type": "csv",
                                "filename": "console.css"}.get(name, "x")
        return values

    def _preferred_ids(self, endpoint: str) -> set[str]:
        view = endpoint.split(".", 1)[0]
        s = self.seeded
        return {str(i) for i in {"user": s.victim_ids, "planet": s.planet_ids[3:],
                                 "token": [s.victim_token_id],
                                 "application": [s.application_id]}.get(view, [])}

    def _endpoint_of(self, url: str, method: str) -> str | None:
        path = urlsplit(url).path
        try:
            endpoint, _ = self.adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed):
            return None
        except Exception:  # noqa: BLE001 - redirects of the URL map
            return None
        return endpoint

    def _harvest(self, url: str, response) -> None:
        if response is None or response.status_code != 200:
            return
        mimetype = response.mimetype or ""
        if mimetype == "application/json":
            data = response.get_json(silent=True)
            if isinstance(data, dict) and isinstance(data.get("next"), str):
                self._note_link(data["next"])
            return
        if mimetype != "text/html":
            return
        parser = PageParser()
        parser.feed(response.get_data(as_text=True))
        for href in parser.links:
            self._note_link(href)
        for form in parser.forms:
            action = form.action or url
            if not action.startswith("/") or action.startswith("//"):
                continue
            if form.method == "POST" and (endpoint := self._endpoint_of(action, "POST")):
                self.forms[endpoint].append((action, form))

    def _note_link(self, href: str) -> None:
        if not href.startswith("/") or href.startswith("//"):
            return
        endpoint = self._endpoint_of(href, "GET")
        if endpoint is None:
            return
        self.links[endpoint].append(href)
        query = dict(parse_qsl(urlsplit(href).query))
        for arg in ("after", "before"):
            payload = _decode_cursor(query.get(arg, ""))
            if payload is None:
                continue
            name, value, row_id = payload
            kind = type(value).__name__
            if isinstance(value, str) and value[:4].isdigit() and "T" in value:
                kind = "datetime"
            key = (kind, str(name).startswith("-"))
            order = {k: v for k, v in parse_qsl(urlsplit(href).query)
                     if k not in ("after", "before", "page")}
            self.cursors[endpoint].setdefault(key, (urlsplit(href).path, [name, value, row_id],
                                                    order))

    def _watch(self, actor: Actor, probe: Probe):
        reads: dict[str, set[str]] = {}
        response = self.fuzzer.send(probe, actor, reads)
        return response, reads

    def discover(self, actors: Actors) -> list[Endpoint]:
        endpoints: list[Endpoint] = []
        for rule in self.app.url_map.iter_rules():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                destructive = method != "GET"
                path = _rule_path(rule, {k: quote(v, safe="") for k, v in
                                         self.path_values(rule, destructive).items()})
                endpoints.append(Endpoint(rule, method, rule.endpoint, path))
        # 1. every page as every role: its status, what it reads, its links and forms
        gets = [e for e in endpoints if e.method == "GET"]
        for round_ in (1, 2):
            for e in gets:
                if round_ == 2:
                    candidates = self.links.get(e.endpoint, [])
                    preferred = self._preferred_ids(e.endpoint)
                    with_id = [u for u in candidates if dict(parse_qsl(urlsplit(u).query)).get(
                        "id") in preferred] or [u for u in candidates if "id=" in u]
                    if not with_id or urlsplit(with_id[0]).path != urlsplit(e.url).path:
                        continue
                    e.url = with_id[0]
                for role in ROLES:
                    actor = actors.by_role[role]
                    response, reads = self._watch(actor, Probe(0, "GET", e.url, role,
                                                               "baseline", "-"))
                    e.status[role] = response.status_code if response is not None else 500
                    e.query_reads |= reads["query"]
                    e.role_reads[role] |= {f"query {k}" for k in reads["query"]}
                    if _reaches(response) and role not in e.reaching:
                        e.reaching.append(role)
                    self._harvest(e.url, response)
        self._harvest_cursors(actors)
        # 2. writes: a form of a page that posts there; the access check with an empty body
        for e in endpoints:
            if e.method == "GET":
                continue
            forms = self.forms.get(e.endpoint, [])
            preferred = self._preferred_ids(e.endpoint)

            if forms:
                action, form = sorted(forms, key=lambda item: _form_score(item, preferred))[0]
                if urlsplit(action).path == urlsplit(e.url).path:
                    if "?" in action:
                        e.url = action
                    e.form = [(n, v) for n, v in form.fields if n != "csrf_token"]
            view = self.views.get(e.endpoint.split(".")[0])
            if _kind(e.endpoint) == "action_view" and getattr(view, "_actions", None):
                # the action a script would choose; the least destructive of the view's
                names = [name for name, _ in view._actions]
                chosen = next((n for n in names if n != "delete"), names[0])
                e.form = [(n, v) for n, v in e.form if n != "action"] + [("action", chosen)]
        self._merge_create_forms(endpoints)
        for e in endpoints:
            if e.method == "GET":
                continue
            for role in ROLES:
                actor = actors.by_role[role]
                url = self._nonexistent_ids(e) if e.phase == 2 else urlsplit(e.url).path
                form = [(n, v) for n, v in self._form_pairs(e) if n not in ("id", "rowid")]
                empty = Probe(1, e.method, url, role, "baseline", "-", form=form) \
                    if not url.startswith("/api") else \
                    Probe(1, e.method, url, role, "baseline", "-", body=b"{}",
                          content_type="application/json")
                response, reads = self._watch(actor, empty)
                e.status[role] = response.status_code if response is not None else 500
                e.query_reads |= reads["query"]
                e.form_reads |= reads["form"]
                e.reads_body |= bool(reads["body"])
                e.role_reads[role] |= {f"{kind} {k}" for kind in reads for k in reads[kind]}
                if _reaches(response):
                    e.reaching.append(role)
        for e in endpoints:
            e.keep_deepest()
        return endpoints

    def _nonexistent_ids(self, e: Endpoint) -> str:
        values = self.path_values(e.rule, True)
        for name in e.rule.arguments:
            if type(e.rule._converters[name]).__name__ == "IntegerConverter":
                values[name] = str(2**31 - 1)
        path = _rule_path(e.rule, {k: quote(v, safe="") for k, v in values.items()})
        return path

    def _merge_create_forms(self, endpoints: list[Endpoint]) -> None:
        """A create form starts from the values of an edit form of the same view, so that a
        hostile value in one field meets valid values in the others."""
        edits = {e.endpoint.split(".")[0]: e for e in endpoints
                 if _kind(e.endpoint) == "edit_view" and e.method == "POST" and e.form}
        for e in endpoints:
            if _kind(e.endpoint) == "create_view" and e.method == "POST":
                edit = edits.get(e.endpoint.split(".")[0])
                if edit:
                    known = dict(edit.form)
                    e.form = [(n, known.get(n) or v) for n, v in e.form]

    def _harvest_cursors(self, actors: Actors) -> None:
        admin = actors.by_role["admin"]
        # the console's lists a row a page, in every order, so that each has a next link
        for endpoint, view in self.views.items():
            if not hasattr(view, "_list_columns"):
                continue
            had = "page_size" in view.__dict__
            old = view.__dict__.get("page_size")
            view.page_size = 1
            try:
                url = self.adapter.build(f"{endpoint}.index_view")
                for index in range(len(view._list_columns)):
                    for desc in ("", "&desc=1"):
                        response = self.fuzzer.send(
                            Probe(0, "GET", f"{url}?sort={index}{desc}", "admin", "baseline",
                                  "-"), admin)
                        self._harvest(url, response)
            finally:
                if had:
                    view.page_size = old
                else:
                    del view.page_size
        # the API, in each order its OpenAPI document lists
        sorts = ["name"]
        doc = self.fuzzer.send(Probe(0, "GET", "/api/openapi.json", "anonymous", "baseline", "-"))
        if doc is not None and doc.status_code == 200:
            sorts = _enum_of(doc.get_json(), "sort") or sorts
        for sort in sorts:
            response = self.fuzzer.send(Probe(0, "GET", f"/api/planets?per_page=1&sort="
                                                        f"{quote(sort)}", "anonymous",
                                              "baseline", "-"))
            self._harvest("/api/planets", response)

    # --- the probes --------------------------------------------------------------------------

    def role_for(self, e: Endpoint) -> str:
        self.turn[e.endpoint + e.method] += 1
        return e.reaching[self.turn[e.endpoint + e.method] % len(e.reaching)]

    def _form_pairs(self, e: Endpoint, target: str | None = None,
                    encoded: str | None = None) -> list[tuple[str, str]]:
        n = next(self.unique)
        pairs = []
        for name, value in e.form:
            if name == target:
                continue
            unique = _unique_fill(name, n)
            if unique is not None:
                value = unique  # a fresh name: free for a create, unknown to a login
            value = _fill(name, value, self.seeded)
            if value is None:
                continue
            pairs.append((name, quote(value, safe="")))
        if target is not None:
            pairs.append((target, encoded))
            if target == "password" and any(name == "confirm" for name, _ in e.form):
                pairs = [(k, v) for k, v in pairs if k != "confirm"] + [("confirm", encoded)]
        return pairs

    def build(self, endpoints: list[Endpoint], planet_fields: list[str], base_planet: dict,
              conflicts: list[str]) -> list[Probe]:
        values = query_values(conflicts)
        for e in endpoints:
            if not e.reaching:
                self._gate(e, e.status.keys(), values)
                continue
            self._gate(e, [r for r in ROLES if r not in e.reaching], values)
            kind = _kind(e.endpoint)
            view = self.views.get(e.endpoint.split(".")[0])
            query = set(e.query_reads) | set(ADMIN_QUERY.get(kind, []) if view else [])
            if view is not None and kind in ("index_view", "export") and \
                    getattr(view, "_filter_args", None):
                query |= {f"flt0_{key}" for key in view._filter_args}
            with_form = e.method != "GET" and not e.url.startswith("/api")
            form = {n for n, _ in e.form} | e.form_reads | set(ADMIN_FORM.get(kind, []) if
                                                               view else [])
            form.discard("csrf_token")
            base_form = self._form_pairs(e) if with_form else None
            json_body = self._json_base(e, base_planet) if e.url.startswith("/api") and \
                e.reads_body else None
            for name in sorted(query):
                self._query_probes(e, name, values, base_form, json_body)
            if with_form:
                for name in sorted(form):
                    self._form_probes(e, name, values)
                self._csrf_probes(e)
                self._json_to_form(e, sorted(form))
            if json_body is not None:
                self._json_probes(e, planet_fields, json_body)
            self._path_probes(e, values, base_form, json_body)
        self.probes.sort(key=lambda p: p.phase)
        return self.probes

    def _add(self, e: Endpoint, url: str, target: str, value: str, *,
             form: list | None = None, body: bytes | None = None, role: str | None = None,
             content_type: str | None = None, files: dict | None = None,
             headers: dict | None = None, csrf: bool = True) -> None:
        self.probes.append(Probe(e.phase, e.method, url, role or self.role_for(e), target,
                                 value, form=form, body=body, content_type=content_type,
                                 files=files, headers=headers, csrf=csrf))

    def _body_of(self, e: Endpoint, base_form, json_body) -> dict:
        if base_form is not None:
            return {"form": self._form_pairs(e)}
        if json_body is not None:
            return {"body": json_body(), "content_type": "application/json"}
        return {}

    def _gate(self, e: Endpoint, roles, values: list[Value]) -> None:
        """Each role the endpoint turns away: one request with every parameter hostile."""
        names = sorted(set(SITE_QUERY) | set(e.query_reads) | {"id", "url", "search"})
        for offset, role in enumerate(roles):
            url = e.url
            for i, name in enumerate(names):
                url = _with_query(url, name, values[(i + offset) % len(values)].encoded)
            form = [(n, values[(i + offset) % len(values)].encoded)
                    for i, (n, _) in enumerate(e.form)] if e.method != "GET" else None
            self._add(e, url, "everything (turned away)", "mixed", form=form, role=role)

    def _query_probes(self, e: Endpoint, name: str, values: list[Value], base_form,
                      json_body) -> None:
        extra = self._body_of
        for value in values:
            self._add(e, _with_query(e.url, name, value.encoded), f"query {name}", value.label,
                      **extra(e, base_form, json_body))
        self._add(e, _with_query(_with_query(e.url, name, "1"), name, "2", keep=True),
                  f"query {name}", "given twice", **extra(e, base_form, json_body))
        if name in ("after", "before"):
            for path, (cursor_name, cursor_value, row_id), order in \
                    self.cursors.get(e.endpoint, {}).values():
                url = path
                for k, v in order.items():
                    url = _with_query(url, k, quote(v, safe=""))
                for label, cursor in forged_cursors(cursor_name, cursor_value, row_id):
                    if name == "before" and not label.startswith(("id 2**31", "value 2**31",
                                                                  "value U+D7FF", "value 'a'",
                                                                  "value lone", "value NUL")):
                        continue
                    self._add(e, _with_query(url, name, cursor),
                              f"query {name} (cursor of {cursor_name}, {order or 'default'})",
                              label, **extra(e, base_form, json_body))

    def _form_probes(self, e: Endpoint, name: str, values: list[Value]) -> None:
        for value in values:
            self._add(e, e.url, f"form {name}", value.label,
                      form=self._form_pairs(e, name, value.encoded))
        pairs = self._form_pairs(e, name, "1") + [(name, "2")]
        self._add(e, e.url, f"form {name}", "given twice", form=pairs)
        files = {n: unquote(v) for n, v in self._form_pairs(e)}
        files[name] = (io.BytesIO(b"\x00\xff file"), "hostile.txt")
        self._add(e, e.url, f"form {name}", "a file upload", files=files)

    def _csrf_probes(self, e: Endpoint) -> None:
        for label, token in [("empty", ""), ("NUL", "%00"), ("garbage", "abc"),
                             ("long", "A" * 5000), ("raw %ff", "%ff"),
                             ("dotted", "a.b.c"), ("U+D7FF", quote("\ud7ff"))]:
            self._add(e, e.url, "form csrf_token", label,
                      form=self._form_pairs(e, "csrf_token", token))

    def _json_to_form(self, e: Endpoint, names: list[str]) -> None:
        """Flask-WTF reads a JSON body as the form: every field of the wrong type at once."""
        shapes = ["[]", '"text"', "1", "null", "[" * DEEP + "]" * DEEP, "{bad"]
        for raw in ["[1, 2]", '{"a": 1}', "1e400", "null", "true", '"\\u0000"', '"\\ud800"',
                    "99999999999999999999"]:
            shapes.append("{" + ", ".join(f"{json.dumps(n)}: {raw}" for n in names) + "}")
        for shape in shapes:
            self._add(e, e.url, "json body (to a form)", _label(shape), body=shape.encode(),
                      content_type="application/json")

    def _json_base(self, e: Endpoint, base_planet: dict):
        def body(field_name: str | None = None, raw: str | None = None) -> bytes:
            data = {} if e.method == "PATCH" else dict(base_planet)
            if e.method in ("POST", "PUT") and "name" in data:
                data["name"] = f"Fuzz api {next(self.unique)}"
            if field_name is not None:
                data[field_name] = "\x00FUZZ\x00"
            text = json.dumps(data)
            if field_name is not None:
                text = text.replace(json.dumps("\x00FUZZ\x00"), raw)
            return text.encode()

        return body

    def _json_probes(self, e: Endpoint, fields: list[str], body) -> None:
        for name in fields:
            for raw in JSON_VALUES:
                self._add(e, e.url, f"json {name}", _label(raw), body=body(name, raw),
                          content_type="application/json")
        base = body()
        shapes = [
            ("a list", b"[]"), ("a list of the object", b"[" + base + b"]"),
            ("a string", b'"planet"'), ("a number", b"1"), ("null", b"null"), ("true", b"true"),
            ("deeply nested list", b"[" * DEEP + b"]" * DEEP),
            ("deeply nested object", b'{"a": ' * 20_000 + b"1" + b"}" * 20_000),
            ("empty", b""), ("invalid UTF-8", b"\xff\xfe\x00"),
            ("a BOM first", b"\xef\xbb\xbf" + base), ("UTF-16", base.decode().encode("utf-16")),
            ("duplicate keys", base[:-1] + b', "name": "dup"}' if base != b"{}" else
             b'{"name": "a", "name": "b"}'),
            ("invalid JSON", b"{"), ("NUL byte", b'{"name": "a\x00"}'),
            ("lone surrogate key", b'{"\\ud800": 1}'), ("NUL key", b'{"\\u0000": 1}'),
            ("1.9 MB of spaces", base + b" " * 1_900_000),
            ("over the size limit", b" " * 3_000_000),
        ]
        for label, raw in shapes:
            self._add(e, e.url, "json body", label, body=raw, content_type="application/json")
        for content_type in ["text/plain", "application/x-www-form-urlencoded",
                             "application/json; charset=latin-1",
                             "application/vnd.api+json", "multipart/form-data"]:
            self._add(e, e.url, "content type", content_type, body=base,
                      content_type=content_type)
        for label, auth in [("Bearer", "Bearer"), ("Bearer and spaces", "Bearer   "),
                            ("Basic", "Basic YTpi"), ("long", "Bearer " + "x" * 10_000),
                            ("latin-1", "Bearer \u00e9\u00e9"), ("two tokens", "Bearer a b")]:
            self._add(e, e.url, "header Authorization", label, body=base,
                      content_type="application/json", headers={"Authorization": auth})

    def _path_probes(self, e: Endpoint, values: list[Value], base_form, json_body) -> None:
        valid = self.path_values(e.rule, e.phase == 2)
        for name in e.rule.arguments:
            converter = type(e.rule._converters[name]).__name__
            if converter == "IntegerConverter":
                candidates = [Value(v, quote(v, safe="%")) for v in INT_PATH_VALUES]
            else:
                candidates = values
            for value in candidates:
                path = _rule_path(e.rule, {**{k: quote(v, safe="") for k, v in valid.items()},
                                           name: value.encoded})
                query = urlsplit(e.url).query
                url = f"{path}?{query}" if query else path
                self._add(e, url, f"path {name}", value.label,
                          **self._body_of(e, base_form, json_body))


def _enum_of(document: Any, parameter: str) -> list[str]:
    """The enum of the parameter `parameter` anywhere in an OpenAPI document."""
    if isinstance(document, dict):
        if document.get("name") == parameter and isinstance(document.get("schema"), dict):
            enum = document["schema"].get("enum")
            if isinstance(enum, list):
                return [str(v) for v in enum]
        for value in document.values():
            if found := _enum_of(value, parameter):
                return found
    elif isinstance(document, list):
        for value in document:
            if found := _enum_of(value, parameter):
                return found
    return []


# --- the test ---------------------------------------------------------------------------------

@pytest.fixture
def watched_app(app: Flask) -> Iterator[Flask]:
    base = app.request_class

    class WatchedRequest(base):
        parameter_storage_class = WatchedMultiDict

        def get_data(self, *args: Any, **kwargs: Any):
            READS.body()
            return super().get_data(*args, **kwargs)

    app.request_class = WatchedRequest
    yield app
    app.request_class = base


def test_no_hostile_value_makes_the_app_fail(watched_app, make_user, make_planet, make_token):
    app = watched_app
    started = time.monotonic()
    with Fuzzer(app) as fuzzer:
        actors = fuzzer.actors = Actors(app, make_user, make_token)
        seeded = seed(app, make_user, make_planet, make_token, actors)
        plan = Plan(app, fuzzer, seeded)
        endpoints = plan.discover(actors)
        planet = actors.by_role["anonymous"].client.get(
            f"/api/planets/{seeded.planet_ids[2]}").get_json()
        base_planet = {k: v for k, v in planet.items()
                       if k not in ("id", "archived", "created_at", "updated_at")}
        planet_fields = sorted({*planet, "unknown_field"})
        conflicts = [seeded.planet_names[4].upper(), actors.by_role["viewer"].username.upper(),
                     f"{actors.by_role['viewer'].username.upper()}@EXAMPLE.COM"]
        probes = plan.build(endpoints, planet_fields, base_planet, conflicts)
        for probe in probes:
            if time.monotonic() - started > DEADLINE_SECONDS:
                pytest.fail(f"the fuzz run passed {DEADLINE_SECONDS} s after {fuzzer.sent} "
                            f"requests, {len(probes)} planned\n{fuzzer.report()}")
            fuzzer.send(probe)
        # the login lockout, which records the refused username
        app.config["LOGIN_RATE_LIMIT"] = "1 per hour"
        for value in query_values(conflicts):
            fuzzer.send(Probe(2, "POST", "/login", "anonymous", "form username (locked out)",
                              value.label, form=[("username", value.encoded),
                                                 ("password", quote(PASSWORD))]))
        app.config["LOGIN_RATE_LIMIT"] = NO_LIMIT
        logged_out = [role for role, actor in actors.by_role.items() if role != "anonymous"
                      and actor.client.get("/account").status_code != 200]
    untested = [f"{e.method} {e.rule.rule}" for e in endpoints if not e.reaching]
    refused = [f"{p.method} {p.url[:80]} as {p.role}" for p in fuzzer.csrf_refusals]
    assert not fuzzer.failures and not refused and not logged_out, fuzzer.report() + (
        "\n\nRefused by the CSRF check (a bug of this test's tokens): " + "; ".join(refused[:20])
        if refused else "") + (
        f"\n\nNo longer logged in at the end (a bug of this test): {logged_out}"
        if logged_out else "") + (
        "\n\nTurned away for every role (only the access check was fuzzed): " +
        ", ".join(untested))
