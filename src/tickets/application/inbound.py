"""What the email channel's intake hands the application: one received mail, already parsed.

The SMTP adapter (`tickets/mail/`) turns raw bytes into an `InboundMail`; the application
decides what it becomes (a ticket, a reply, nothing) without knowing MIME.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# `[#42]` in a subject names ticket 42 of the receiving org (with the sender as its contact).
TICKET_TOKEN = re.compile(r"\[#(\d{1,18})\]")


@dataclass(frozen=True)
class MailPart:
    """A MIME part that carries a file."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    """A received mail, as the intake needs it.

    `message_id` is the `Message-ID` without angle brackets; a mail without one gets a stable
    stand-in derived from its bytes, so the same mail delivered twice has the same id.
    `noise` says why the mail must create nothing (an auto-reply, a bounce, bulk mail), or is None.
    """

    message_id: str
    sender: str
    sender_name: str
    subject: str
    # The text a person wrote: plain text, HTML converted to Markdown-ish text, with quoted history
    # and the signature trimmed where that is reliable.
    body: str
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    attachments: tuple[MailPart, ...] = field(default=())
    noise: str | None = None

    def ticket_number(self) -> int | None:
        """The ticket number a `[#N]` token in the subject names, if any."""
        found = TICKET_TOKEN.search(self.subject)
        return int(found.group(1)) if found else None


__all__ = ["TICKET_TOKEN", "InboundMail", "MailPart"]
