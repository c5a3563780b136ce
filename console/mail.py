"""Mail: one message built from templates/mail/<name>.txt and .html, sent with Flask-Mailman.

Over SMTP when MAIL_SERVER is set (console/config.py). Without it, the development default,
each message is written to the app's instance/mail/ as an .eml file (any mail program opens
it) and the log names the file, so every mail flow works on a machine with no mail server.

send() renders the message in the request (its links need the request's host) and hands it
to the job queue (console/jobs.py) in the request's transaction; a worker delivers it, so a
slow or failing mail server never holds up or breaks the request: delivery is retried with
backoff, and the message leaves the job's record once delivered (a reset link is a secret).
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_mailman import EmailMessage, EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend

from console.extensions import mail
from console.services import jobs
from models import Job

logger = logging.getLogger("console.mail")

# Flask-Mailman imports a backend by its dotted name (flask_mailman.Mail.import_backend): a
# class name ending in "EmailBackend" is taken from the module before it.
EML_FILE_BACKEND = "console.mail.EmlFileEmailBackend"
MAIL_JOB = "mail"


class EmlFileEmailBackend(BaseEmailBackend):
    """Writes each message to its own .eml file in MAIL_FILE_PATH, readable by its owner only
    (a reset link in it is a secret), and logs the file's name."""

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        directory = Path(self.mailman.file_path)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{datetime.now(UTC):%Y%m%d-%H%M%S-%f}-{secrets.token_hex(4)}.eml"
            path = directory / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.message().as_bytes())
            logger.info("Mail to %s written to %s", ", ".join(message.recipients()), path)
        return len(email_messages)


def init_mail(app: Flask) -> None:
    """Bind Flask-Mailman: SMTP with a MAIL_SERVER, the .eml files without one."""
    app.config.setdefault("MAIL_FILE_PATH", os.path.join(app.instance_path, "mail"))
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else \
            EML_FILE_BACKEND
    mail.init_app(app)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)  # the .eml line shows without debug mode
    # Creating app.logger ("console", this logger's parent) gives it Flask's handler.
    app.logger.debug("Mail goes through %s", app.config["MAIL_BACKEND"])


def _reason(error: OSError) -> str:
    """What went wrong, without the server's reply text (it may quote what was sent)."""
    code = getattr(error, "smtp_code", None) or error.errno
    return type(error).__name__ + (f" ({code})" if code else "")


def send(template: str, to: str, subject: str, **context: Any) -> None:
    """Send templates/mail/<template>.txt and .html, rendered with `context`, to `to`: a mail
    job, committed at once (nobody learns from the answer whether a mail went out)."""
    jobs.submit(MAIL_JOB, {
        "template": template, "to": to, "subject": subject,
        "text": render_template(f"mail/{template}.txt", **context),
        "html": render_template(f"mail/{template}.html", **context),
    }, title=f"Mail \"{subject}\" to {to}")


@jobs.handler(MAIL_JOB)
def deliver(job: Job) -> dict[str, Any]:
    """Hand a mail job's message to the mail server; an error (smtplib's, a refused connection,
    TLS) fails this try and the job is tried again later."""
    payload = job.payload
    message = EmailMultiAlternatives(payload["subject"], payload["text"], to=[payload["to"]],
                                     headers={"Auto-Submitted": "auto-generated"})
    message.attach_alternative(payload["html"], "text/html")
    try:
        message.send()
    except OSError as error:
        logger.error("The %s mail was not sent: %s", payload["template"], _reason(error))
        raise
    return {"to": payload["to"], "template": payload["template"]}
