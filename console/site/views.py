"""Landing page, dashboard, the planets catalog, mission applications and astronaut profiles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from console.api.parameters import DEFAULT_SORT, MAX_YEAR, PlanetListQuery, read_parameters
from console.errors import sentence
from console.paging import CursorError, PagingError, fetch_from, pager_links, read_page
from console.services import applications
from console.site import bp
from console.site.forms import MissionApplicationForm
from models import (
    MAX_ID,
    ApplicationStatus,
    DiscoveryMethod,
    MissionApplication,
    Planet,
    PlanetType,
    User,
    db,
    whole_number,
)
from models.applications import REVIEWERS
from models.errors import DomainError

PLANETS_PER_PAGE = 25


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return render_template("site/landing.html")
    applications = db.session.scalars(
        select(MissionApplication)
        .where(MissionApplication.applicant_id == current_user.id)
        .order_by(MissionApplication.submitted_at.desc())
    ).all()
    return render_template("site/dashboard.html", applications=applications,
                           reviewers=REVIEWERS)


def _page_number() -> int:
    return whole_number(request.args.get("page")) or 1


# The catalog's columns: heading, the API sort that orders by it (None: not sortable), and
# whether it holds numbers.
COLUMNS = [("Name", "name", False), ("Type", "planet_type", False), ("Host star", None, False),
           ("Discovered", "discovery_year", True), ("Method", "discovery_method", False),
           ("Mass (Earth = 1)", "mass_earth", True), ("Radius (Earth = 1)", "radius_earth", True),
           ("Distance (ly)", "distance_ly", True)]
# The API's list parameters that the catalog reads as the API does, as the page names them.
FILTERS = {"type": "Type", "method": "Discovery method", "discovered_from": "Discovered from",
           "discovered_to": "Discovered to", "sort": "Sort"}


@dataclass(frozen=True)
class Heading:
    label: str
    numeric: bool
    url: str | None  # the list sorted by this column, or the other way when it already is
    order: str | None  # "ascending" or "descending" when the list is sorted by it (aria-sort)


def _heading(label: str, key: str | None, numeric: bool, sort: str | None,
             url: Callable[..., str]) -> Heading:
    """A column's heading in the list sorted by `sort` (None: a search's own order);
    `url(sort=...)` links another sort."""
    if key is None:
        return Heading(label, numeric, None, None)
    order = "ascending" if sort == key else "descending" if sort == f"-{key}" else None
    return Heading(label, numeric, url(sort=f"-{key}" if order == "ascending" else key), order)


@bp.route("/planets")
def planets():
    query_text = "".join(c for c in request.args.get("q", "") if c.isprintable()).strip()[:100]
    given = {name: request.args[name].strip() for name in FILTERS
             if request.args.get(name, "").strip()}  # a form's blank fields filter nothing
    values, errors = read_parameters(given)
    query = PlanetListQuery(q=query_text, per_page=PLANETS_PER_PAGE, **values)

    def catalog_url(**changes: str | int | None) -> str:
        """This list (its search, filters and sort) with `changes`, from page 1 unless told."""
        return url_for("site.planets", **{"q": query_text or None,
                                          **{name: given[name] for name in values}, **changes})

    shown = {"q": query_text, "filters": given, "labels": FILTERS, "errors": errors,
             "headings": [_heading(*column, query.sort or (None if query_text else DEFAULT_SORT),
                                   catalog_url) for column in COLUMNS],
             "first_page": catalog_url(),
             "planet_types": list(PlanetType), "methods": list(DiscoveryMethod),
             "max_year": MAX_YEAR}
    if errors:
        return render_template("site/planets.html", **shown), 400
    number = _page_number()
    try:
        page = read_page(fetch_from(db.session, query.statement(), query.ordering.id),
                         query.ordering, PLANETS_PER_PAGE, offset=(number - 1) * PLANETS_PER_PAGE,
                         after=request.args.get("after"), before=request.args.get("before"))
    except PagingError as error:  # a cursor we did not make, or a page number too deep
        problem = "This link is not one of this list's pages; start again from the first " \
            "page." if isinstance(error, CursorError) else sentence(str(error))
        return render_template("site/planets.html", problem=problem, **shown), 400

    def page_url(number: int, **cursor: str) -> str:
        return catalog_url(page=number if number > 1 else None, **cursor)

    return render_template(
        "site/planets.html", planets=page.items, links=pager_links(page, number, page_url),
        ended=not page.items and (number > 1 or "after" in request.args), **shown)


@bp.route(f"/planets/<int(max={MAX_ID}):planet_id>")
def planet(planet_id: int):
    shown = db.session.get(Planet, planet_id)
    if shown is None or shown.archived:
        abort(404)
    return render_template("site/planet.html", planet=shown)


@bp.route("/mission-application", methods=["GET", "POST"])
@login_required
def mission_application():
    form = MissionApplicationForm()
    requested = request.args.get("planet", "")
    if request.method == "GET" and (planet_id := whole_number(requested)):
        chosen = db.session.get(Planet, planet_id)
        if chosen is not None and not chosen.archived:
            form.planet.data = chosen.name
    if form.validate_on_submit():
        target = Planet.find_by_name(form.planet.data)
        if target is None:
            form.planet.errors.append("There is no planet of that name in the catalog.")
        else:
            try:
                applications.submit(current_user._get_current_object(), target,
                                    form.motivation.data)
            except DomainError as error:
                field = getattr(form, error.field, None)  # "email": not a field of this form
                (field.errors if field is not None else form.form_errors).append(error.message)
            else:
                flash(f"Your application for {target.name} is submitted and pending review.",
                      "success")
                return redirect(url_for("site.index"))
    return render_template("site/apply.html", form=form)


@bp.route(f"/mission-application/<int(max={MAX_ID}):application_id>/withdraw",
          methods=["POST"])
@login_required
def withdraw_application(application_id: int):
    application = db.session.get(MissionApplication, application_id)
    if application is None or application.applicant_id != current_user.id:
        abort(404)
    try:
        applications.withdraw(application, current_user._get_current_object())
    except DomainError as error:
        flash(error.message, "danger")
    else:
        flash(f"Your application for {application.planet.name} is withdrawn.", "info")
    return redirect(url_for("site.index"))


@bp.route("/astronaut/<username>")
@login_required
def astronaut(username: str):
    user = db.first_or_404(select(User).where(func.lower(User.username) == username.lower(),
                                              User.is_active.is_(True)))
    missions = db.session.scalars(
        select(Planet)
        .join(MissionApplication, MissionApplication.planet_id == Planet.id)
        .where(MissionApplication.applicant_id == user.id,
               MissionApplication.status == ApplicationStatus.APPROVED.value)
        .order_by(func.lower(Planet.name))
    ).all()
    return render_template("site/astronaut.html", astronaut=user, missions=missions)
