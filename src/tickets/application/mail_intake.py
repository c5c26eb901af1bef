"""The email channel's intake: which org an address belongs to, and what a received mail becomes.

A new mail opens a ticket (`source=email`, the sender as its contact, found or new); a reply joins
its ticket as the contact's message. A reply is matched by `In-Reply-To`/`References` against the
ids of the mails of the ticket's thread (ours carry the ticket's id; those received are indexed by
`ReceivedMail`), else by a `[#N]` token in the subject; either way only if the sender is that
ticket's contact, so nobody writes into someone else's thread (a mail from another address opens
its own ticket). A closed ticket's reply opens a follow-up; a resolved one's reopens it.

The same `Message-ID` is taken once per org: `ReceivedMail` is saved with the ticket's change, and
the store refuses a second. Auto-replies, bounces, bulk mail and mail from our own addresses make
nothing, and are counted (`ignored`).
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp
from tickets.application.attachments import AttachmentService, IncomingFile
from tickets.application.contacts import ContactActor
from tickets.application.directory import DirectoryService
from tickets.application.inbound import InboundMail
from tickets.application.tickets import DuplicateMailError, MailReceipt, StoredFile, TicketService
from tickets.domain.contact import contact_id_for, normalize_email
from tickets.domain.errors import DomainError
from tickets.domain.mail import MailAddress, ReceivedMail, normalize_address
from tickets.domain.registry import OrgSlug, TicketNumber
from tickets.domain.ticket import Ticket
from tickets.domain.values import Source

logger = logging.getLogger("tickets.mail")

# The ids of our own mails: `ticket.<ticket id>.<mail id>@<domain>` (and the thread root `ticket.<id>@`).
OUR_MESSAGE_ID = re.compile(r"^ticket\.([0-9a-f-]{36})[.@]", re.IGNORECASE)
# The limits the API puts on what people type apply to what they mail, too.
SUBJECT_MAX = 500
TEXT_MAX = 65_536
NAME_MAX = 200
EMPTY_BODY = "(no text)"
TRUNCATED = "\n\n[… the rest of the mail was cut: it was longer than 65,536 characters]"


@dataclass(frozen=True)
class MailRoute:
    """Where mail to an address goes: an org, and a team for the tickets it opens."""

    address: str
    org_id: UUID
    team_id: UUID | None = None


Outcome = Literal["created", "replied", "follow_up", "duplicate", "ignored"]


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    ticket_id: UUID | None = None
    ticket_number: int | None = None
    reason: str | None = None


class MailIntake:
    """Routes addresses and takes received mail."""

    def __init__(
        self,
        app: TicketsApp,
        directory: DirectoryService,
        tickets: TicketService,
        attachments: AttachmentService,
        domain: str,
    ) -> None:
        self.app = app
        self.directory = directory
        self.tickets = tickets
        self.attachments = attachments
        self.domain = domain.lower()
        # Mail that made nothing, by reason (auto-replies, bounces, ...): for the log and operators.
        self.ignored: Counter[str] = Counter()

    # ------------------------------------------------------------------ addresses

    def route(self, recipient: str) -> MailRoute | None:
        """The org (and team) an address receives for, or None: `<slug>@<domain>` or an extra address."""
        address = normalize_address(recipient)
        local, _, domain = address.rpartition("@")
        if domain == self.domain and local:
            try:
                slug: OrgSlug = self.app.repository.get(OrgSlug.create_id(local))
            except AggregateNotFoundError:
                pass
            else:
                return MailRoute(address, slug.org_id)
        try:
            extra: MailAddress = self.app.repository.get(MailAddress.create_id(address))
        except AggregateNotFoundError:
            return None
        return MailRoute(address, extra.org_id, extra.team_id) if extra.active else None

    def is_ours(self, address: str) -> bool:
        """Mail from one of our addresses is our own (a loop), never a customer's."""
        address = normalize_address(address)
        return address.rpartition("@")[2] == self.domain or self.route(address) is not None

    # ------------------------------------------------------------------ receiving

    def receive(self, route: MailRoute, mail: InboundMail) -> Received:
        """What the mail becomes: a ticket, a reply, or nothing (a duplicate, or noise)."""
        noise = mail.noise or ("from our own address" if self.is_ours(mail.sender) else None)
        if noise is not None:
            self.ignored[noise] += 1
            logger.info("mail %s from %s ignored: %s", mail.message_id, mail.sender, noise)
            return Received("ignored", reason=noise)
        contact = ContactActor(contact_id_for(route.org_id, mail.sender), route.org_id)
        files, dropped = self._store_parts(mail)
        receipt = MailReceipt(mail.message_id, normalize_email(mail.sender), tuple(dropped))
        body = _within(mail.body.strip())
        try:
            ticket = self._thread_of(route.org_id, contact, mail)
            if ticket is not None:
                saved = self.tickets.contact_reply(
                    contact,
                    ticket.ticket_number,
                    body or EMPTY_BODY,
                    files,
                    source=Source.EMAIL,
                    mail=receipt,
                )
                outcome: Outcome = "replied" if saved.value.id == ticket.id else "follow_up"
            else:
                saved = self.tickets.open_for_contact(
                    contact,
                    (mail.subject.strip() or "(no subject)")[:SUBJECT_MAX],
                    body,
                    files,
                    source=Source.EMAIL,
                    team_id=route.team_id,
                    name=mail.sender_name.strip()[:NAME_MAX] or None,
                    mail=receipt,
                )
                outcome = "created"
        except DuplicateMailError as duplicate:
            return Received("duplicate", duplicate.ticket_id, reason="this Message-ID was received before")
        logger.info(
            "mail %s from %s: %s #%d", mail.message_id, mail.sender, outcome, saved.value.ticket_number
        )
        return Received(outcome, saved.value.id, saved.value.ticket_number)

    def _thread_of(self, org_id: UUID, contact: ContactActor, mail: InboundMail) -> Ticket | None:
        """The ticket the mail answers, if its sender is that ticket's contact."""
        for mail_id in (*reversed(mail.in_reply_to), *reversed(mail.references)):
            ticket = self._ticket(org_id, self._ticket_id_of(org_id, mail_id))
            if ticket is not None:
                return ticket if ticket.contact_id == contact.contact_id else None
        number = mail.ticket_number()
        if number is not None:
            try:
                index: TicketNumber = self.app.repository.get(TicketNumber.create_id(org_id, number))
            except AggregateNotFoundError:
                return None
            ticket = self._ticket(org_id, index.ticket_id)
            if ticket is not None and ticket.contact_id == contact.contact_id:
                return ticket
        return None

    def _ticket_id_of(self, org_id: UUID, mail_id: str) -> UUID | None:
        ours = OUR_MESSAGE_ID.match(mail_id)
        if ours and mail_id.lower().endswith("@" + self.domain):
            return UUID(ours.group(1))
        try:
            received: ReceivedMail = self.app.repository.get(ReceivedMail.create_id(org_id, mail_id))
        except AggregateNotFoundError:
            return None
        return received.ticket_id

    def _ticket(self, org_id: UUID, ticket_id: UUID | None) -> Ticket | None:
        if ticket_id is None:
            return None
        try:
            ticket: object = self.app.repository.get(ticket_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(ticket, Ticket) or ticket.org_id != org_id or ticket.deleted:
            return None
        return ticket

    def _store_parts(self, mail: InboundMail) -> tuple[list[StoredFile], list[dict[str, Any]]]:
        """The parts the attachment rules take, stored; the others dropped with the reason (the
        ticket is made all the same, and its timeline says what was dropped)."""
        stored: list[StoredFile] = []
        dropped: list[dict[str, Any]] = []
        for part in mail.attachments:
            if len(stored) >= self.attachments.limits.max_files:
                dropped.append(_dropped(part.filename, len(part.data), "too many files in one mail"))
                continue
            try:
                stored += self.attachments.store(
                    [IncomingFile(part.filename, part.content_type, io.BytesIO(part.data))]
                )
            except DomainError as refused:
                dropped.append(_dropped(part.filename, len(part.data), str(refused)))
        return stored, dropped


def _within(text: str) -> str:
    """The text, cut (and saying so) if longer than a message may be."""
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - len(TRUNCATED)] + TRUNCATED


def _dropped(filename: str, size: int, reason: str) -> dict[str, Any]:
    return {"filename": filename[:255], "size": size, "reason": reason}


__all__ = ["MailIntake", "MailRoute", "Received"]
