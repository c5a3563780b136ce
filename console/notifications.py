"""What members are told about their mission applications: a receipt when one is submitted, the
decision (with the reviewer's note) when it is decided.

The applications service calls these functions once its transaction has committed, never inside
it. Each takes the id of an application and reads it again, so that a job (console/jobs.py) can
run it later in another process; console.mail.send hands the message on and never lets a
failing mail server break the request. A decision is final, so a job that runs late tells the
same story. Reviewers are named by their role, "the mission office", never by their username.
"""

from __future__ import annotations

from flask import current_app, has_request_context, url_for

from console import mail
from models import MissionApplication, db
from models.applications import DECIDED, REVIEWERS


def _dashboard_link() -> str | None:
    """The member's dashboard as a full address. Outside a request (a job, a command) the
    site's address is known only when SERVER_NAME is set; without it the mail has no link."""
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        return None
    return url_for("site.index", _external=True)


def _application_of_active_applicant(application_id: int) -> MissionApplication | None:
    """The application, unless it is gone or its applicant's account is inactive (they could
    not log in to see it; account mails skip such accounts too)."""
    application = db.session.get(MissionApplication, application_id)
    if application is None or not application.applicant.is_active:
        return None
    return application


def application_received(application_id: int) -> bool:
    """Tell the applicant their application arrived and waits for review. False when there is
    nobody to tell (no such application, an inactive account)."""
    application = _application_of_active_applicant(application_id)
    if application is None:
        return False
    mail.send("application_received", application.applicant.email,
              f"We received your application for {application.planet.name}",
              application=application, reviewers=REVIEWERS, link=_dashboard_link())
    return True


def application_decided(application_id: int) -> bool:
    """Tell the applicant the decision on their application, with the review note. False when
    there is nothing to tell (not decided) or nobody to tell it."""
    application = _application_of_active_applicant(application_id)
    if application is None or application.status not in DECIDED:
        return False
    decision = application.status_label.lower()
    mail.send("application_decided", application.applicant.email,
              f"Your application for {application.planet.name} is {decision}",
              application=application, decision=decision, reviewers=REVIEWERS,
              link=_dashboard_link())
    return True
