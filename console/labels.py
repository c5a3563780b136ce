"""How pages show values: identifiers as words, numbers without float noise, times with their
zone. One mapping per vocabulary, here or on its model (planet types, discovery methods,
statuses and states carry their own `label`); the templates use them as Jinja filters
(register_labels) and the console's views as column formatters and choices. The JSON API and
the CSV exports keep the identifiers and raw values: nothing here is for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any

from flask import Flask

from console.audit import Source
from console.mail import MAIL_JOB
from console.services.planet_imports import IMPORT_JOB
from models import ApplicationStatus, DiscoveryMethod, JobState, PlanetType, Role, as_utc
from models.planets import PLANET_FIELDS, Planet
from models.users import Theme

MINUTES = "%Y-%m-%d %H:%M"  # the console's times: "2026-12-01 19:40 UTC"
SECONDS = "%Y-%m-%d %H:%M:%S"
SITE_MINUTES = "%d %b %Y, %H:%M"  # the member site's and the mails': "01 Dec 2026, 19:40 UTC"
SIGNIFICANT_DIGITS = 15  # a double keeps any decimal of 15 significant digits exactly

# The audit log's actions, as a phrase of what happened ("planet.delete" -> "Planet deleted").
ACTION_LABELS = {
    "application.submit": "Application submitted",
    "application.withdraw": "Application withdrawn",
    "application.approve": "Application approved",
    "application.reject": "Application rejected",
    "job.retry": "Job retried",
    "login": "Logged in",
    "logout": "Logged out",
    "login.failed": "Login failed",
    "login.locked": "Login refused: locked out",
    "login.two_factor_failed": "Two-factor code refused",
    "planet.create": "Planet created",
    "planet.bulk_create": "Planets created in bulk",
    "planet.update": "Planet updated",
    "planet.revert": "Planet change reverted",
    "planet.delete": "Planet deleted",
    "planet.restore": "Planet restored",
    "planet.archive": "Planet archived",
    "planet.unarchive": "Planet unarchived",
    "session.end": "Session ended",
    "session.end_others": "Other sessions ended",
    "token.create": "API token created",
    "token.revoke": "API token revoked",
    "two_factor.enable": "Two-factor sign-in turned on",
    "two_factor.disable": "Two-factor sign-in turned off",
    "two_factor.reset": "Two-factor sign-in reset",
    "two_factor.recovery_codes": "Recovery codes replaced",
    "two_factor.recovery_code_used": "Recovery code used",
    "user.register": "User registered",
    "user.create": "User created",
    "user.update": "User updated",
    "user.role": "Role changed",
    "user.activate": "User activated",
    "user.deactivate": "User deactivated",
    "user.delete": "User deleted",
    "user.password": "Password set",
    "user.password_reset": "Password reset",
    "user.email_confirm": "Email address confirmed",
    "user.sessions_end": "All sessions ended",
    "user.theme": "Theme changed",
}
# The kinds of record the audit log names (console.audit._target_type).
TARGET_LABELS = {
    "planet": "Planet",
    "user": "User",
    "mission_application": "Mission application",
    "api_token": "API token",
    "job": "Job",
}
SOURCE_LABELS = {
    Source.SITE: "Member site",
    Source.CONSOLE: "Console",
    Source.API: "API",
    Source.CLI: "Command line",
    Source.IMPORT: "CSV import",
}
JOB_KIND_LABELS = {MAIL_JOB: "Mail", IMPORT_JOB: "Planet import"}

# The fields an audit event names, as the pages call them (planets: as the console's form).
FIELD_LABELS = {
    **{field.name: f"{field.label} ({field.unit})" if field.unit else field.label
       for field in PLANET_FIELDS},
    "archived": "Archived",
    "username": "Username",
    "email": "Email",
    "email_status": "Email address",
    "role": "Role",
    "is_active": "Active",
    "password": "Password",
    "theme": "Theme",
    "login": "Login name",
    "account": "Account",
    "session": "Session",
    "sessions": "Sessions",
    "two_factor": "Two-factor sign-in",
    "recovery_codes": "Recovery codes",
    "planet": "Planet",
    "motivation": "Motivation",
    "status": "Status",
    "state": "State",
    "reviewed_by": "Reviewed by",
    "reviewed_at": "Reviewed",
    "review_note": "Review note",
    "revoked_at": "Revoked",
    "count": "Count",
    "ids": "Ids",
}


def _enum_labels(values: type[StrEnum]) -> dict[str, str]:
    return {value.value: value.label for value in values}  # type: ignore[attr-defined]


ROLE_LABELS = _enum_labels(Role)
STATUS_LABELS = _enum_labels(ApplicationStatus)
JOB_STATE_LABELS = _enum_labels(JobState)
PLANET_TYPE_LABELS = _enum_labels(PlanetType)
DISCOVERY_METHOD_LABELS = _enum_labels(DiscoveryMethod)
THEME_LABELS = _enum_labels(Theme)
# The vocabulary of each field whose values are identifiers, for the values of audit events.
FIELD_VOCABULARIES: dict[str, Mapping[str, str]] = {
    "planet_type": PLANET_TYPE_LABELS,
    "discovery_method": DISCOVERY_METHOD_LABELS,
    "status": STATUS_LABELS,
    "role": ROLE_LABELS,
    "state": JOB_STATE_LABELS,
    "theme": THEME_LABELS,
}


def humanised(identifier: str) -> str:
    """An identifier no vocabulary knows, as words: "two_factor.reset" -> "Two factor reset"."""
    words = re.sub(r"[._]+", " ", identifier).strip()
    return words[:1].upper() + words[1:]


def label_of(labels: Mapping[str, str], value: Any) -> str:
    """`value`'s word in `labels`; an unknown identifier humanised, nothing as ""."""
    if value is None or value == "":
        return ""
    return labels.get(str(value)) or humanised(str(value))


def choices(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(value, label) pairs for a select or a console filter."""
    return list(labels.items())


# Each vocabulary's word for a value, for the templates (FILTERS) and the views' formatters.
role_label = partial(label_of, ROLE_LABELS)
status_label = partial(label_of, STATUS_LABELS)
action_label = partial(label_of, ACTION_LABELS)
target_label = partial(label_of, TARGET_LABELS)
source_label = partial(label_of, SOURCE_LABELS)
job_kind_label = partial(label_of, JOB_KIND_LABELS)
field_label = partial(label_of, FIELD_LABELS)


# --- numbers and times -----------------------------------------------------------------------


def number(value: Any) -> str:
    """A number as published: 3000 (not 3000.0), 1.17, 0.000157 (never 1.57e-04), and no
    float noise (0.1 + 0.2 is 0.3); None as ""."""
    if value is None:
        return ""
    if not isinstance(value, float) or not math.isfinite(value):  # ints, bools, text
        return str(value)
    text = format(Decimal(format(value, f".{SIGNIFICANT_DIGITS}g")), "f")
    return "0" if text == "-0" else text


def utc_time(moment: datetime | None, format: str = MINUTES) -> str:
    """`moment` in UTC, with its zone: "2026-12-01 19:40 UTC"; None as ""."""
    if moment is None:
        return ""
    return f"{as_utc(moment).strftime(format)} UTC"


def utc_seconds(moment: datetime | None) -> str:
    """`moment` to the second, with its zone: "2026-12-01 19:40:38 UTC"."""
    return utc_time(moment, SECONDS)


def site_time(moment: datetime | None) -> str:
    """`moment` as the member site shows it: "01 Dec 2026, 19:40 UTC"."""
    return utc_time(moment, SITE_MINUTES)


def iso_time(moment: datetime) -> str:
    """`moment` for a <time datetime="..."> attribute: "2026-12-01T19:40:38Z"."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_value(value: Any, field: str = "") -> str:
    """A value of an audit event's field as words: a vocabulary's label, a number as
    published, Yes or No, a stored time with its zone; text as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, datetime):
        return utc_seconds(value)
    if field in FIELD_VOCABULARIES and isinstance(value, str):
        return label_of(FIELD_VOCABULARIES[field], value)
    if field.endswith("_at") and isinstance(value, str):
        try:
            return utc_seconds(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


# --- planets -----------------------------------------------------------------------------------


def discovered(planet: Planet) -> str:
    """When the planet was found: its year, "in antiquity" for Mercury to Saturn, else
    "unknown"."""
    if planet.discovery_year is not None:
        return str(planet.discovery_year)
    return "in antiquity" if planet.known_since_antiquity else "unknown"


def distance(planet: Planet) -> str:
    """The distance from the Sun in light years; "in the Solar System" for the Sun's own
    planets, which have none; "" when unknown."""
    if planet.distance_ly is not None:
        return number(planet.distance_ly)
    return "in the Solar System" if planet.in_solar_system else ""


# --- Flask-Admin -----------------------------------------------------------------------------


def planet_formatter(function: Callable[[Planet], str]) -> Callable[[Any, Any, Any, str], str]:
    """A column formatter that shows `function(planet)`."""
    return lambda view, context, model, name: function(model)


def number_type_formatter(view: Any, value: float, name: str) -> str:
    return number(value)


def minutes_type_formatter(view: Any, value: datetime, name: str) -> str:
    return utc_time(value, MINUTES)


def seconds_type_formatter(view: Any, value: datetime, name: str) -> str:
    return utc_seconds(value)


def yes_no_type_formatter(view: Any, value: bool, name: str) -> str:
    return "Yes" if value else "No"


FILTERS: dict[str, Callable[..., str]] = {
    "role_label": role_label,
    "status_label": status_label,
    "action_label": action_label,
    "target_label": target_label,
    "source_label": source_label,
    "job_kind_label": job_kind_label,
    "field_label": field_label,
    "change_value": change_value,
    "number": number,
    "utc_time": utc_time,
    "utc_seconds": utc_seconds,
    "site_time": site_time,
    "iso_time": iso_time,
    "discovered": discovered,
    "distance": distance,
}


def register_labels(app: Flask) -> None:
    """The filters above for every template, and the roles in their order."""
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.globals["role_labels"] = ROLE_LABELS
