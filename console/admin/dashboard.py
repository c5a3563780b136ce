"""The figures of the console's home page, and the discoveries-per-year chart as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass

from flask_admin import AdminIndexView, expose
from sqlalchemy import func, select

from console.admin.base import ConsoleAccessMixin
from console.security import Permission, can
from models import ApplicationStatus, AuditEvent, MissionApplication, Planet, User, db
from models.planets import PLANET_TYPE_LABELS, PlanetType


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    year: int
    count: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    max_count: int
    first_year: int | None
    last_year: int | None
    earlier: int  # discoveries before the years shown


def discoveries_chart(counts: dict[int, int], width: int = 720, height: int = 220,
                      span: int = 40) -> Chart:
    """Bars for each of the last `span` years up to the latest discovery, empty years included;
    older discoveries (Uranus, 1781) are counted, not drawn, so the bars stay readable."""
    if not counts:
        return Chart(width, height, [], 0, None, None, 0)
    last = max(counts)
    first = max(min(counts), last - span + 1)
    years = range(first, last + 1)
    earlier = sum(count for year, count in counts.items() if year < first)
    slot = width / len(years)
    top = max(counts.get(year, 0) for year in years)
    bars = []
    for index, year in enumerate(years):
        count = counts.get(year, 0)
        bar_height = (height - 20) * count / top
        bars.append(Bar(x=index * slot + 1, y=height - bar_height, width=max(slot - 2, 1),
                        height=bar_height, year=year, count=count))
    return Chart(width, height, bars, top, first, last, earlier)


# Who may see the changes of each kind of record: those who may read it.
READ_PERMISSIONS = {"planet": Permission.PLANETS_READ, "user": Permission.USERS_READ,
                    "mission_application": Permission.APPLICATIONS_READ,
                    "api_token": Permission.USERS_WRITE}
AUTH_ACTIONS = ("login", "logout", "login.failed", "login.locked", "login.two_factor_failed")
RECENT_CHANGES = 8


def console_figures() -> dict:
    roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    active = dict(db.session.execute(
        select(User.is_active, func.count()).group_by(User.is_active)).all())
    types = dict(db.session.execute(
        select(Planet.planet_type, func.count()).group_by(Planet.planet_type)).all())
    per_year = dict(db.session.execute(
        select(Planet.discovery_year, func.count())
        .where(Planet.discovery_year.is_not(None)).group_by(Planet.discovery_year)).all())
    pending = db.session.scalar(select(func.count(MissionApplication.id)).where(
        MissionApplication.status == ApplicationStatus.PENDING.value))
    readable = [target for target, permission in READ_PERMISSIONS.items() if can(permission)]
    recent = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target_type.in_(readable),
                                 AuditEvent.target_id != "",
                                 AuditEvent.action.not_in(AUTH_ACTIONS))
        .order_by(AuditEvent.id.desc()).limit(RECENT_CHANGES)).all()
    return {
        "roles": roles,
        "active": active.get(True, 0),
        "inactive": active.get(False, 0),
        "planet_types": [(PLANET_TYPE_LABELS[t], types.get(t.value, 0)) for t in PlanetType],
        "planets": sum(types.values()),
        "pending": pending,
        "recent_events": recent,
        "chart": discoveries_chart(per_year),
    }


class ConsoleIndexView(ConsoleAccessMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/index.html", **console_figures())
