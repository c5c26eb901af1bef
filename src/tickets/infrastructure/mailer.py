"""Outgoing mail: a message as the application composes it, made into MIME and handed to SMTP
(or, with no SMTP server configured, written as an .eml file to look at)."""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlparse

# An SMTP conversation that takes longer than this is a failed attempt (retried later).
SMTP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class OutgoingFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """A mail to send, as the application composes it. Message ids are without angle brackets."""

    sender_name: str
    sender: str
    to: str
    subject: str
    message_id: str
    text: str
    html: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[OutgoingFile, ...] = ()
    # RFC 3834: receipts and notices say they were sent automatically, so auto-responders stay quiet.
    auto_submitted: bool = False


def to_mime(message: OutgoingMessage, date: float | None = None) -> EmailMessage:
    """The MIME form: text and HTML alternatives, attachments, and the headers mail clients thread on."""
    mime = EmailMessage()
    mime["From"] = formataddr((message.sender_name, message.sender))
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Message-ID"] = f"<{message.message_id}>"
    mime["Date"] = format_datetime(_utc(date if date is not None else time.time()))
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    if message.in_reply_to:
        mime["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        mime["References"] = " ".join(f"<{ref}>" for ref in message.references)
    if message.auto_submitted:
        mime["Auto-Submitted"] = "auto-replied"
    mime.set_content(message.text)
    mime.add_alternative(message.html, subtype="html")
    for file in message.attachments:
        maintype, _, subtype = file.content_type.partition("/")
        mime.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.filename,
        )
    return mime


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class MailDeliveryError(Exception):
    """The mail was not handed over. `permanent`: trying again will not help (a 5xx answer)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailTransport(Protocol):
    """Hands a mail over for delivery, or raises `MailDeliveryError`."""

    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpTransport:
    """Sends through an SMTP server: `smtp://[user:pass@]host:port` (`?starttls=true`) or `smtps://`."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = SMTP_TIMEOUT_SECONDS

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        parsed = urlparse(url)
        options = {k: v[-1].lower() for k, v in parse_qs(parsed.query).items()}
        implicit = parsed.scheme == "smtps"
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (465 if implicit else 25),
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            implicit_tls=implicit,
            starttls=options.get("starttls") in ("true", "1", "yes"),
        )

    def send(self, message: EmailMessage) -> None:
        try:
            smtp: smtplib.SMTP
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailDeliveryError(
                f"recipient refused: {_reply(error.recipients)}", all(c >= 500 for c in codes)
            ) from error
        except smtplib.SMTPResponseException as error:
            text = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            raise MailDeliveryError(f"{error.smtp_code} {text}", error.smtp_code >= 500) from error
        except (smtplib.SMTPException, OSError) as error:
            raise MailDeliveryError(f"{type(error).__name__}: {error}") from error


def _reply(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{who}: {code} {text.decode(errors='replace')}" for who, (code, text) in recipients.items()
    )


@dataclass(frozen=True)
class DirectoryTransport:
    """Writes each mail as `<directory>/<time>-<message id>.eml`: the embedded default, with no SMTP server."""

    directory: Path

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-." else "_" for c in str(message["Message-ID"]).strip("<>"))
        path = self.directory / f"{time.strftime('%Y%m%dT%H%M%S')}-{name[:120]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(message.as_bytes())
        partial.replace(path)  # whole files only, even if the process dies mid-write


@dataclass
class MemoryTransport:
    """Keeps each mail in `sent`: for unit tests on the in-memory store."""

    sent: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def open_transport(smtp_url: str | None, directory: Path) -> MailTransport:
    return SmtpTransport.from_url(smtp_url) if smtp_url else DirectoryTransport(directory)


__all__ = [
    "DirectoryTransport",
    "MailDeliveryError",
    "MailTransport",
    "MemoryTransport",
    "OutgoingFile",
    "OutgoingMessage",
    "SmtpTransport",
    "open_transport",
    "to_mime",
]
