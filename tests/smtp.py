"""A real SMTP server on loopback (aiosmtpd) for the tests, the browser server's mail included,
and reading what it received."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller

from tests.network import free_port


class Mailbox(list):
    """The messages the loopback SMTP server received, oldest first, parsed by the email
    package; `settings` point an app's Flask-Mailman at that server."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.settings = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port,
                         "MAIL_USE_TLS": False, "MAIL_USE_SSL": False}

    def one(self) -> EmailMessage:
        assert len(self) == 1, f"{len(self)} messages: {[m['Subject'] for m in self]}"
        return self[0]

    def wait_for(self, to: str, subject: str, timeout: float = 10) -> EmailMessage:
        """The newest message to `to` whose subject holds `subject`, once it has arrived (a
        server in another process sends it while the test waits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self):
                if to in message["To"] and subject in message["Subject"]:
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} about {subject!r}: "
                             f"{[(m['To'], m['Subject']) for m in self]}")


class SmtpServer:
    """aiosmtpd's handler: every message it accepts goes into the current Mailbox, if any."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox: Mailbox | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        if self.mailbox is not None:
            self.mailbox.append(BytesParser(policy=policy.default).parsebytes(raw))
        return "250 Message accepted for delivery"


@contextmanager
def running_smtp_server(kind: type[SmtpServer] = SmtpServer) -> Iterator[SmtpServer]:
    server = kind(free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port,
                            server_hostname="localhost")
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def mail_parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML part of an account mail."""
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None, "a mail needs a text and an HTML part"
    return text.get_content(), html.get_content()


def link_in(message: EmailMessage, path: str) -> str:
    """The one link to `path` (e.g. "/reset-password") in a mail, the same in both parts."""
    found = []
    for part in mail_parts(message):
        found.append(set(re.findall(rf"https?://[^\s\"'<>]*{re.escape(path)}\?token=[\w.-]+",
                                    part)))
    text_links, html_links = found
    assert len(text_links) == 1 and text_links == html_links, found
    return text_links.pop()
