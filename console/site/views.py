"""Landing page, dashboard, the planets catalog, mission applications and astronaut profiles."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from console.paging import Ordering, PagingError, fetch_from, pager_links, read_page
from console.services import applications
from console.site import bp
from console.site.forms import MissionApplicationForm
from models import (
    MAX_ID,
    ApplicationStatus,
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


@bp.route("/planets")
def planets():
    query_text = "".join(c for c in request.args.get("q", "") if c.isprintable()).strip()[:100]
    planet_type = request.args.get("type", "")
    if planet_type not in {t.value for t in PlanetType}:
        planet_type = ""
    ordering = Ordering.on(db.engine.dialect.name, "name", Planet.name_key(), Planet.id)
    query = select(Planet, ordering.key, Planet.id).where(Planet.archived == False)  # noqa: E712 - a comparison the indexes understand
    if query_text:
        query = query.where(Planet.search(query_text, db.engine.dialect.name))
    if planet_type:
        query = query.where(Planet.planet_type == planet_type)
    number = _page_number()
    try:
        page = read_page(fetch_from(db.session, query), ordering, PLANETS_PER_PAGE,
                         offset=(number - 1) * PLANETS_PER_PAGE,
                         after=request.args.get("after"), before=request.args.get("before"))
    except PagingError:  # a cursor we did not make, or a page number too deep
        abort(400)

    def page_url(number: int, **cursor: str) -> str:
        return url_for("site.planets", q=query_text or None, type=planet_type or None,
                       page=number if number > 1 else None, **cursor)

    return render_template(
        "site/planets.html", planets=page.items, links=pager_links(page, number, page_url),
        q=query_text, planet_type=planet_type, planet_types=list(PlanetType),
    )


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
