"""Real SMTP for the email channel's tests: an aiosmtpd sink that keeps what it receives (and can be
told to refuse), the intake on a free port, and mail sent with smtplib."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SinkHandler:
    """Keeps every mail it accepts; `refuse` makes it answer DATA with that reply instead."""

    received: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse is not None:
            return self.refuse
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(parsed)
        return "250 OK"


@contextmanager
def smtp_sink() -> Iterator[tuple[SinkHandler, int]]:
    """A real SMTP server on loopback that plays the outside world's mail server."""
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def mail(
    sender: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes]] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in files or []:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(port: int, message: EmailMessage, to: str | None = None) -> Any:
    """Deliver with smtplib, as another mail server would; returns what `sendmail` returns."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.send_message(message, to_addrs=[to or str(message["To"])])


def strip_brackets(value: object) -> str:
    return str(value).strip().strip("<>")
