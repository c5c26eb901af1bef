"""The mail sender: a policy that sends each queued mail once, and records how it went.

It follows the log through the outbox read model (`projections/outbox.py`), which lists the mails
due: queued by an event (`Ticket.EmailQueued`, `Contact.SignInRequested`, `Inbox.DigestQueued`:
a member's e-mail digest, worded by `application/digest.py`), a retry whose time has
come, or a claim whose server died. For each, it first *claims* the mail on its `OutgoingMail`
aggregate (whose id is derived from the queueing event): the store lets one server save a claim
for an attempt, so two servers never send one mail together, and a claim made before a crash
lets another server retry after its lease. Then it composes the mail from the aggregates as they
are now, hands it to the transport, and records the outcome on the mail and on its ticket
(`email_sent`, `email_failed`) in one save. A crash between the hand-over and that save sends
the mail again after the lease, with the same `Message-ID`, so mail clients show it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from tickets.application.app import TicketsApp, retry_on_conflict
from tickets.application.contacts import ContactService
from tickets.application.digest import NothingToMailError, compose_digest
from tickets.domain.mail import SEND_LEASE, OutgoingMail
from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket
from tickets.infrastructure.blobs import BlobStore
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.mailer import (
    MailDeliveryError,
    MailTransport,
    OutgoingFile,
    OutgoingMessage,
    to_mime,
)
from tickets.infrastructure.markdown import render_markdown
from tickets.infrastructure.settings import MailSettings

logger = logging.getLogger("tickets.mail")


class Queued(Protocol):
    """A mail the outbox says is due (`projections.outbox.QueuedMail`)."""

    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ticket_id(self) -> str | None: ...
    @property
    def contact_id(self) -> str | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def queued_at(self) -> datetime: ...
    @property
    def inbox_id(self) -> str | None: ...
    @property
    def inbox_version(self) -> int | None: ...


# (now, limit) -> the mails due by `now`.
MailDue = Callable[[datetime, int], Iterable[Queued]]


class UnsendableError(Exception):
    """The mail can never be sent (its ticket was deleted, it has no contact address any more...)."""


class _Common(NamedTuple):
    sender_name: str
    sender: str
    reply_to: str
    message_id: str


@dataclass(frozen=True)
class Composed:
    message: OutgoingMessage
    ticket: Ticket | None


class MailSender:
    """Sends due mails through a transport; `send_due` is what the follower schedules."""

    def __init__(
        self,
        app: TicketsApp,
        transport: MailTransport,
        blobs: BlobStore,
        contacts: ContactService,
        settings: MailSettings,
        clock: Clock = system_clock,
    ) -> None:
        self.app = app
        self.transport = transport
        self.blobs = blobs
        self.contacts = contacts
        self.settings = settings
        self.clock = clock

    def send_due(self, due: MailDue, limit: int = 100) -> int:
        """Send (or retry) the mails due now; how many were handed over."""
        now = self.clock()
        return sum(self.deliver(queued, now) == "sent" for queued in due(now, limit))

    def deliver(self, queued: Queued, now: datetime) -> str:
        """One attempt at one mail: 'sent', 'failed', 'retrying', or 'skipped' (finished, or another's)."""
        claimed = self._claim(queued, now)
        if claimed is None:
            return "skipped"
        mail, link_token = claimed
        try:
            composed = self._compose(queued, mail, link_token)
        except UnsendableError as reason:
            return self._record(queued, mail.id, None, str(reason), give_up=True)
        try:
            self.transport.send(to_mime(composed.message))
        except MailDeliveryError as error:
            logger.warning("mail %s to %s: %s", queued.key, composed.message.to, error)
            return self._record(queued, mail.id, composed, str(error), give_up=error.permanent)
        return self._record(queued, mail.id, composed, None)

    # ------------------------------------------------------------------ claim

    def _claim(self, queued: Queued, now: datetime) -> tuple[OutgoingMail, str | None] | None:
        """Claim the next attempt (saved before sending); None if finished or held by another server."""
        mail_id = OutgoingMail.create_id(queued.key)
        try:
            mail: OutgoingMail = self.app.repository.get(mail_id)
            if not mail.claim(now, SEND_LEASE):
                return None
        except AggregateNotFoundError:
            org_id = self._org_of(queued)
            if org_id is None:
                return None
            mail = OutgoingMail(
                key=queued.key, org_id=org_id, kind=queued.kind, lease_until=now + SEND_LEASE, timestamp=now
            )
        link_token, extra = None, []
        if queued.kind == "sign_in" and queued.contact_id is not None:
            made = self.contacts.link_for_mail(mail.org_id, UUID(queued.contact_id), now)
            if made is not None and now - queued.queued_at <= self.contacts.link_lifetime:
                link_token, extra = made[0].token, [made[1]]
        try:
            self.app.save(mail, *extra)
        except IntegrityError:
            return None  # another server claimed this attempt first
        return mail, link_token

    def _org_of(self, queued: Queued) -> UUID | None:
        source = queued.ticket_id or queued.contact_id or queued.inbox_id
        try:
            aggregate = self.app.repository.get(UUID(source)) if source else None
        except AggregateNotFoundError:
            return None
        org_id = getattr(aggregate, "org_id", None)
        return org_id if isinstance(org_id, UUID) else None

    # ------------------------------------------------------------------ compose

    def _compose(self, queued: Queued, mail: OutgoingMail, link_token: str | None) -> Composed:
        org: Organization = self.app.repository.get(mail.org_id)
        domain = self.settings.domain
        if queued.kind == "digest":
            return self._digest(queued, org, f"digest.{queued.inbox_id}.{mail.id}@{domain}")
        message_id = f"ticket.{queued.ticket_id or queued.contact_id}.{mail.id}@{domain}"
        common = _Common(org.name, self.settings.from_address, f"{org.slug}@{domain}", message_id)
        if queued.kind == "sign_in":
            if link_token is None:
                raise UnsendableError("the sign-in request is too old, or the contact is gone")
            contact = self.contacts.find(mail.org_id, UUID(str(queued.contact_id)))
            if contact is None:
                raise UnsendableError("the contact is gone")
            url = f"{self.settings.public_url}/portal/sign-in/{link_token}"
            minutes = int(self.contacts.link_lifetime.total_seconds() // 60)
            text = (
                f"Hello {contact.name},\n\nsign in to the {org.name} support portal with this link "
                f"(it works once, for {minutes} minutes):\n\n{url}\n\n"
                "If you did not ask to sign in, ignore this e-mail."
            )
            message = OutgoingMessage(
                to=contact.email,
                subject=f"Sign in to {org.name} support",
                text=text,
                html=render_markdown(text),
                auto_submitted=True,
                **common._asdict(),
            )
            return Composed(message, None)
        ticket = self._ticket(queued)
        if ticket.contact_email is None:
            raise UnsendableError("the ticket has no contact address any more")
        thread = ticket.mail_thread
        root = f"ticket.{ticket.id}@{domain}"
        portal = f"{self.settings.public_url}/portal/tickets/{ticket.ticket_number}"
        files: tuple[OutgoingFile, ...] = ()
        if queued.kind == "reply":
            text, files = self._reply(ticket, UUID(str(queued.message_id)))
        elif queued.kind == "acknowledgement":
            text = (
                f"We received your request and opened ticket #{ticket.ticket_number}: {ticket.subject}\n\n"
                "Reply to this e-mail to add to it."
            )
        else:
            days = org.auto_close_after_days
            text = (
                f"Ticket #{ticket.ticket_number} ({ticket.subject}) is resolved.\n\n"
                f"If it is not solved for you, reply to this e-mail within {days} days and it opens again."
            )
        text = f"{text}\n\n---\nTicket #{ticket.ticket_number}: {portal}"
        message = OutgoingMessage(
            to=ticket.contact_email,
            subject=f"[#{ticket.ticket_number}] {ticket.subject}",
            text=text,
            html=render_markdown(text),
            in_reply_to=thread[-1] if thread else None,
            references=(root, *thread[-10:]),
            attachments=files,
            auto_submitted=queued.kind != "reply",
            **common._asdict(),
        )
        return Composed(message, ticket)

    def _digest(self, queued: Queued, org: Organization, message_id: str) -> Composed:
        """A member's digest of unread notifications: no thread, no reply address (it is not a ticket's)."""
        try:
            digest = compose_digest(
                self.app,
                org,
                UUID(str(queued.inbox_id)),
                int(queued.inbox_version or 0),
                self.settings.public_url,
            )
        except NothingToMailError as reason:
            raise UnsendableError(str(reason)) from None
        message = OutgoingMessage(
            sender_name=org.name,
            sender=self.settings.from_address,
            to=digest.to,
            subject=digest.subject,
            message_id=message_id,
            text=digest.text,
            html=render_markdown(digest.text),
            auto_submitted=True,
        )
        return Composed(message, None)

    def _ticket(self, queued: Queued) -> Ticket:
        try:
            ticket: object = self.app.repository.get(UUID(str(queued.ticket_id)))
        except AggregateNotFoundError:
            raise UnsendableError("the ticket is gone") from None
        if not isinstance(ticket, Ticket) or ticket.deleted:
            raise UnsendableError("the ticket was deleted")
        return ticket

    def _reply(self, ticket: Ticket, message_id: UUID) -> tuple[str, tuple[OutgoingFile, ...]]:
        message = ticket.messages.get(str(message_id))
        # Notes never leave: only a public message is ever queued, and this checks it again.
        if message is None or message.deleted or message.is_internal_note:
            raise UnsendableError("the message was deleted")
        files = tuple(
            OutgoingFile(a.filename, a.content_type, b"".join(self.blobs.read(a.sha256)))
            for a in message.attachments
        )
        return message.content, files

    # ------------------------------------------------------------------ record

    def _record(
        self,
        queued: Queued,
        mail_id: UUID,
        composed: Composed | None,
        error: str | None,
        give_up: bool = False,
    ) -> str:
        """The outcome, on the mail and on its ticket, in one save (retried if an agent saved the ticket meanwhile)."""

        def attempt() -> str:
            now = self.clock()
            mail: OutgoingMail = self.app.repository.get(mail_id)
            if error is None:
                mail.sent(composed.message.message_id if composed else "", timestamp=now)
                outcome = "sent"
            else:
                outcome = "failed" if mail.fail(error, now, give_up) else "retrying"
            ticket = (
                self._ticket_now(queued) if composed is not None and composed.ticket is not None else None
            )
            if ticket is not None and composed is not None:
                kind, message_id = queued.kind, UUID(queued.message_id) if queued.message_id else None
                if error is None:
                    ticket.record_email_sent(
                        kind, message_id, composed.message.to, composed.message.message_id, mail.attempts, now
                    )
                else:
                    ticket.record_email_failed(
                        kind, message_id, composed.message.to, error, mail.attempts, outcome == "failed", now
                    )
            self.app.save(mail, *([ticket] if ticket is not None else []))
            return outcome

        outcome = retry_on_conflict(attempt)
        logger.info("mail %s (%s): %s", queued.key, queued.kind, outcome)
        return outcome

    def _ticket_now(self, queued: Queued) -> Ticket | None:
        try:
            return self._ticket(queued)
        except UnsendableError:
            return None


__all__ = ["MailDue", "MailSender", "Queued"]
