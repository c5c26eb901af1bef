"""The SMTP intake: an aiosmtpd server that takes mail for the orgs' addresses.

Mail to an address no org receives at is refused at `RCPT TO` (550), so nothing is accepted
that would then be dropped. A mail is answered 250 only once it is stored (a ticket, a reply,
or recognised as a duplicate or as noise); if storing fails the answer is 451, and the sending
server tries again later (the same `Message-ID` is then still taken only once).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tickets.application.mail_intake import MailIntake, MailRoute, Received
from tickets.mail.parsing import parse_mail

logger = logging.getLogger("tickets.mail")

# The largest mail taken (bytes): the attachment limits apply to each part after that.
MAX_MAIL_BYTES = 64 * 1024 * 1024


class IntakeHandler:
    """aiosmtpd's handler: routes recipients and hands each mail to the intake."""

    def __init__(self, intake: MailIntake) -> None:
        self.intake = intake

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        route = await asyncio.to_thread(self.intake.route, address)
        if route is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw or "").encode()
        try:
            await asyncio.to_thread(self.deliver, data, list(envelope.rcpt_tos))
        except Exception:
            logger.exception("mail from %s not stored; the sender will retry", envelope.mail_from)
            return "451 4.3.0 Could not store the mail; try again later"
        return "250 2.0.0 Message accepted"

    def deliver(self, raw: bytes, recipients: list[str]) -> list[Received]:
        """The mail, to each org it is addressed to (once per org)."""
        routes: dict[Any, MailRoute] = {}
        for address in recipients:
            route = self.intake.route(address)
            if route is not None:
                routes.setdefault(route.org_id, route)
        mail = parse_mail(raw, our_domains=[self.intake.domain])
        return [self.intake.receive(route, mail) for route in routes.values()]


class SmtpIntake:
    """The intake server in a thread of its own: `start()`, `stop()`; `port` once started."""

    def __init__(self, intake: MailIntake, host: str = "127.0.0.1", port: int = 2525) -> None:
        self.controller = Controller(
            IntakeHandler(intake), hostname=host, port=port, data_size_limit=MAX_MAIL_BYTES, ready_timeout=10
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> SmtpIntake:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


__all__ = ["IntakeHandler", "SmtpIntake"]
