"""Mail: one message built from templates/mail/<name>.txt and .html, sent with Flask-Mailman.

Over SMTP when MAIL_SERVER is set (console/config.py). Without it, the development default,
each message is written to the app's instance/mail/ as an .eml file (any mail program opens
it) and the log names the file, so every mail flow works on a machine with no mail server.

Sending happens in the request for now, and it never breaks the request: a mail server that
refuses or cannot be reached is logged, without any secret, and send() answers False.
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

logger = logging.getLogger("console.mail")

# Flask-Mailman imports a backend by its dotted name (flask_mailman.Mail.import_backend): a
# class name ending in "EmailBackend" is taken from the module before it.
EML_FILE_BACKEND = "console.mail.EmlFileEmailBackend"


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


def send(template: str, to: str, subject: str, **context: Any) -> bool:
    """Send templates/mail/<template>.txt and .html, rendered with `context`, to `to`.

    False when the mail server refuses or cannot be reached; that is logged, and the caller's
    answer must not change (nobody learns from it whether a mail went out)."""
    message = EmailMultiAlternatives(
        subject, render_template(f"mail/{template}.txt", **context), to=[to],
        headers={"Auto-Submitted": "auto-generated"})
    message.attach_alternative(render_template(f"mail/{template}.html", **context),
                               "text/html")
    try:
        message.send()
    except OSError as error:  # smtplib's errors, refused connections and TLS failures alike
        logger.error("The %s mail was not sent: %s", template, _reason(error))
        return False
    return True
