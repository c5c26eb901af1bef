"""Ticket commands and queries: load, check, call the aggregate, save, return the position."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.agents import dispatch_agent, dispatch_mentioned_agents
from tickets.application.app import Saved, TicketsApp
from tickets.application.committer import GroupCommitter, KeyLocks, Staged
from tickets.application.contacts import ContactActor, ContactService
from tickets.application.directory import DirectoryService
from tickets.domain.agents import AgentRun
from tickets.domain.commands import Keep, NewTicket, TicketChanges
from tickets.domain.contact import Contact
from tickets.domain.errors import (
    ConflictError,
    InvalidValueError,
    NotFoundError,
    TicketClosedError,
    TooLargeError,
)
from tickets.domain.mail import ReceivedMail
from tickets.domain.mentions import parse_mentions
from tickets.domain.organization import Organization
from tickets.domain.registry import AttachmentIndex, TicketCounter, TicketNumber
from tickets.domain.ticket import Activity, Message, Ticket
from tickets.domain.values import Role, Source, Status
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.settings import AttachmentLimits

T = TypeVar("T")

TICKET_NUMBER_REF = re.compile(r"^#?(\d{1,18})$")


@dataclass(frozen=True)
class StoredFile:
    """A file whose bytes are stored (`AttachmentService.store`), for a write to attach to a ticket."""

    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class MailReceipt:
    """A received mail a contact command comes from: its `Message-ID` (taken once per org) and the
    parts not kept (`{filename, size, reason}` each), which the ticket's timeline shows members."""

    mail_message_id: str
    sender: str
    dropped: tuple[dict[str, Any], ...] = ()


class DuplicateMailError(ConflictError):
    """This mail was taken before: it made (or went to) `ticket_id`."""

    def __init__(self, ticket_id: UUID) -> None:
        super().__init__(f"this mail was received before (ticket {ticket_id})")
        self.ticket_id = ticket_id


class StaleVersionError(ConflictError):
    """The client changed a version of the ticket that is no longer the latest."""


@dataclass(frozen=True)
class TicketRead:
    """A ticket as shown at one moment: now, or a past version with its org as it was then."""

    ticket: Ticket
    org: Organization
    # The moment shown: SLA flags are computed at it (now, the version's time, or `asOf`).
    at: datetime


class TicketService:
    """The write side of tickets, and reads of one ticket and its history."""

    def __init__(
        self,
        app: TicketsApp,
        directory: DirectoryService,
        clock: Clock = system_clock,
        contacts: ContactService | None = None,
        attachment_limits: AttachmentLimits = AttachmentLimits(),
        key_locks: KeyLocks | None = None,
    ) -> None:
        self.app = app
        self.directory = directory
        self.clock = clock
        self.contacts = contacts or ContactService(app, clock)
        self.attachment_limits = attachment_limits
        # Every command that changes tickets goes through it: commands that arrive together commit
        # in one transaction. Creates in one batch take consecutive numbers from one counter, so
        # they never clash in-process; other processes' batches take the counter's lock in turn
        # (`key_locks`), and a clash that still happens is caught by the store and runs again.
        self.committer = GroupCommitter(app, locks=key_locks)

    # ------------------------------------------------------------------ loading

    def resolve_id(self, actor: Actor | ContactActor, ref: str) -> UUID:
        """A ticket's id from its UUID or its org-wide number (`42` or `#42`)."""
        number = TICKET_NUMBER_REF.match(ref.strip())
        if number:
            try:
                index: TicketNumber = self.app.repository.get(
                    TicketNumber.create_id(actor.org_id, int(number.group(1)))
                )
            except AggregateNotFoundError:
                raise NotFoundError(f"ticket #{number.group(1)} not found") from None
            return index.ticket_id
        try:
            return UUID(ref)
        except ValueError:
            raise NotFoundError(f"ticket {ref!r} not found: use the ticket's UUID or its number") from None

    def _load(
        self,
        actor: Actor | ContactActor,
        ticket_id: UUID,
        version: int | None = None,
        include_deleted: bool = False,
    ) -> Ticket:
        ticket: object
        try:
            ticket = self.app.repository.get(ticket_id, version=version)
        except AggregateNotFoundError:
            ticket = None
        # Another org's ticket answers exactly like a missing one.
        if not isinstance(ticket, Ticket) or ticket.org_id != actor.org_id:
            raise NotFoundError(f"ticket {ticket_id} not found")
        # A contact's tickets are those that name the contact; every other one is as missing.
        if isinstance(actor, ContactActor) and ticket.contact_id != actor.contact_id:
            raise NotFoundError(f"ticket {ticket_id} not found")
        # So is every ticket but its own to a token scoped to one ticket (an agent's dispatch token).
        if isinstance(actor, Actor) and actor.ticket_id is not None and ticket.id != actor.ticket_id:
            raise NotFoundError(f"ticket {ticket_id} not found")
        # And a private team's ticket to whoever is neither its member nor an admin (a dispatch
        # token reaches its own ticket: the agent was asked to act on it).
        if isinstance(actor, Actor) and ticket.team_id is not None and actor.ticket_id != ticket.id:
            hidden = self.directory.org(actor.org_id).hidden_team_ids(actor.user_id, actor.role)
            if str(ticket.team_id) in hidden:
                raise NotFoundError(f"ticket {ticket_id} not found")
        if ticket.deleted and not include_deleted:
            raise NotFoundError(f"ticket #{ticket.ticket_number} has been deleted")
        if version is not None and ticket.version != version:
            raise NotFoundError(f"ticket {ticket_id} has no version {version}")
        return ticket

    def get(
        self,
        actor: Actor,
        ref: str,
        version: int | None = None,
        as_of: datetime | None = None,
        include_deleted: bool = False,
    ) -> Ticket:
        """The ticket now, or as it was at `version` or at time `as_of` (for auditors).

        `include_deleted` lets an admin read a soft-deleted ticket's history; for everyone else a
        deleted ticket stays missing.
        """
        include_deleted = include_deleted and actor.has(Role.ADMIN)
        ticket_id = self.resolve_id(actor, ref)
        current = self._load(actor, ticket_id, include_deleted=include_deleted)
        if as_of is not None:
            version = self.app.version_at(ticket_id, as_of)
            if version is None:
                raise NotFoundError(f"ticket #{current.ticket_number} did not exist at {as_of.isoformat()}")
        if version is not None:
            if version > current.version:
                raise NotFoundError(
                    f"ticket #{current.ticket_number} has no version {version}; latest is {current.version}"
                )
            return self._load(actor, ticket_id, version, include_deleted=True)
        return current

    def read(
        self,
        actor: Actor,
        ref: str,
        version: int | None = None,
        as_of: datetime | None = None,
        include_deleted: bool = False,
    ) -> TicketRead:
        """The ticket with the org it refers to, both as of the same moment.

        Now: the current ticket and org. A past version or time: the ticket then, the org as it
        was at that moment (member and tag names, deleted tags), and SLA flags at that moment.
        """
        ticket = self.get(actor, ref, version, as_of, include_deleted)
        if version is None and as_of is None:
            return TicketRead(ticket, self.directory.org(actor.org_id), self.clock())
        moment = as_of or ticket.modified_on
        return TicketRead(ticket, self.directory.org_as_of(actor.org_id, moment), moment)

    # ------------------------------------------------------------------ commands

    def _change(
        self, actor: Actor | ContactActor, ref: str, change: Callable[[Ticket, Organization, datetime], T]
    ) -> Saved[T]:
        """Load the ticket and org, apply `change`, save (with other commands, `GroupCommitter`);
        run again against the newest version if another writer got in first.

        A ticket whose contact changed is saved with that contact (new to the org, or found).
        """
        if isinstance(actor, Actor):
            actor.require(Role.AGENT)
        ticket_id = self.resolve_id(actor, ref)

        def attempt() -> Staged[T]:
            ticket = self._load(actor, ticket_id)
            contact_before = ticket.contact_id
            org = self.directory.org(actor.org_id)
            now = self.clock()
            result = change(ticket, org, now)
            contact = (
                self.contacts.for_ticket(ticket.org_id, ticket.contact_email, ticket.contact_name, None, now)
                if ticket.contact_email and ticket.contact_id != contact_before
                else None
            )
            return Staged(result, (ticket, *_some(contact)), org)

        return self.committer.run(attempt)

    def _open_ticket(
        self,
        actor: Actor | ContactActor,
        org: Organization,
        new: NewTicket,
        now: datetime,
        follow_up_of: UUID | None = None,
    ) -> tuple[Ticket, TicketCounter, TicketNumber, Contact | None]:
        """A new ticket with the org's next number, its number's index, and its contact (found or new)."""
        org.require_team(new.team_id)
        org.require_tags(new.tag_ids)
        self._check_assignee(org, new.assignee_id)
        creator = actor.contact_id if isinstance(actor, ContactActor) else actor.user_id
        counter = self._counter(actor.org_id, now)
        ticket = Ticket.open(
            org_id=actor.org_id,
            ticket_number=counter.last_number + 1,
            subject=new.subject,
            description=new.description,
            priority=new.priority,
            category=new.category,
            source=new.source,
            team_id=new.team_id,
            assignee_id=new.assignee_id,
            contact_email=new.contact_email,
            contact_name=new.contact_name,
            tag_ids=new.tag_ids,
            follow_up_of=follow_up_of,
            sla_targets=org.sla_targets_for(new.priority, new.team_id),
            actor_id=creator,
            at=now,
        )
        number = counter.next_number(ticket.id, now)
        index = TicketNumber(org_id=actor.org_id, number=number, ticket_id=ticket.id, timestamp=now)
        contact = (
            self.contacts.for_ticket(actor.org_id, new.contact_email, new.contact_name, creator, now)
            if new.contact_email
            else None
        )
        return ticket, counter, index, contact

    def _counter(self, org_id: UUID, now: datetime) -> TicketCounter:
        counter_id = TicketCounter.create_id(org_id)
        # Every create of the org writes it: other processes' batches wait for this one's save.
        self.committer.serialize_on(str(counter_id))
        try:
            counter: TicketCounter = self.app.repository.get(counter_id)
        except AggregateNotFoundError:
            counter = TicketCounter(org_id=org_id, timestamp=now)
        return counter

    def create(self, actor: Actor, new: NewTicket) -> Saved[Ticket]:
        """Open a ticket with the org's next number; counter, ticket and index commit together."""
        actor.require(Role.AGENT)
        actor.require_org_wide()

        def attempt() -> Staged[Ticket]:
            now = self.clock()
            org = self.directory.org(actor.org_id)
            ticket, counter, index, contact = self._open_ticket(actor, org, new, now)
            return Staged(ticket, (counter, ticket, index, *_some(contact)), org)

        return self.committer.run(attempt)

    def follow_up(self, actor: Actor, ref: str) -> Saved[Ticket]:
        """Open a new ticket linked to a closed one, carrying over its subject, contact and routing."""
        actor.require(Role.AGENT)
        actor.require_org_wide()
        original_id = self.resolve_id(actor, ref)

        def attempt() -> Staged[Ticket]:
            now = self.clock()
            original = self._load(actor, original_id)
            org = self.directory.org(actor.org_id)
            carried = _follow_up_of(original, org, original.source)
            ticket, counter, index, contact = self._open_ticket(
                actor, org, carried, now, follow_up_of=original.id
            )
            original.record_follow_up(ticket.id, actor.user_id, now)
            return Staged(ticket, (counter, ticket, index, original, *_some(contact)), org)

        return self.committer.run(attempt)

    def update(
        self, actor: Actor, ref: str, changes: TicketChanges, expected_version: int | None = None
    ) -> Saved[Ticket]:
        """Apply the sent fields of `changes`; unchanged values record nothing.

        Status goes last, so that resolving a ticket in the same request as other edits records
        the edits first. With `expected_version` (HTTP If-Match) the change applies only to that
        version, so a client that edits what it read never overwrites a change it has not seen.
        """

        def apply(ticket: Ticket, org: Organization, now: datetime) -> Ticket:
            self._check_version(ticket, expected_version)
            who = actor.user_id
            if not isinstance(changes.subject, Keep):
                ticket.change_subject(changes.subject, who, now)
            if not isinstance(changes.description, Keep):
                ticket.change_description(changes.description, who, now)
            if not (isinstance(changes.contact_email, Keep) and isinstance(changes.contact_name, Keep)):
                email, name = changes.contact_email, changes.contact_name
                ticket.change_contact(
                    ticket.contact_email if isinstance(email, Keep) else email,
                    ticket.contact_name if isinstance(name, Keep) else name,
                    who,
                    now,
                )
            if not isinstance(changes.category, Keep):
                ticket.change_category(changes.category, who, now)
            if not isinstance(changes.team_id, Keep):
                org.require_team(changes.team_id)
                targets = org.sla_targets_for(ticket.priority, changes.team_id)
                ticket.change_team(changes.team_id, targets, who, now)
            if not isinstance(changes.priority, Keep):
                targets = org.sla_targets_for(changes.priority, ticket.team_id)
                ticket.change_priority(changes.priority, targets, who, now)
            if not isinstance(changes.assignee_id, Keep):
                self._check_assignee(org, changes.assignee_id)
                ticket.assign(changes.assignee_id, who, now)
            if not isinstance(changes.tag_ids, Keep):
                org.require_tags(changes.tag_ids)
                ticket.set_tags(changes.tag_ids, who, now)
            if not isinstance(changes.status, Keep):
                ticket.change_status(changes.status, who, now)
            return ticket

        return self._change(actor, ref, apply)

    @staticmethod
    def _check_version(ticket: Ticket, expected_version: int | None) -> None:
        if expected_version is not None and ticket.version != expected_version:
            raise StaleVersionError(
                f"ticket #{ticket.ticket_number} is at version {ticket.version}, not {expected_version}; "
                "reload it and apply your change again"
            )

    @staticmethod
    def _check_assignee(org: Organization, assignee_id: UUID | None) -> None:
        """An assignee is a person of the org: agents are dispatched to (by a mention or a rule), not assigned."""
        if assignee_id is not None and not org.is_member(assignee_id):
            raise InvalidValueError(f"assigneeId {assignee_id} is not a member of this org")
        if assignee_id is not None and org.member(assignee_id).is_agent:
            raise InvalidValueError(
                f"@{org.member(assignee_id).handle} is an agent: mention it or dispatch it by a rule instead"
            )

    def assign(
        self, actor: Actor, ref: str, assignee_id: UUID | None, expected_version: int | None = None
    ) -> Saved[Ticket]:
        def apply(ticket: Ticket, org: Organization, now: datetime) -> Ticket:
            self._check_version(ticket, expected_version)
            self._check_assignee(org, assignee_id)
            ticket.assign(assignee_id, actor.user_id, now)
            return ticket

        return self._change(actor, ref, apply)

    def delete(self, actor: Actor, ref: str) -> Saved[None]:
        return self._change(actor, ref, lambda ticket, _org, now: ticket.delete(actor.user_id, now))

    # ------------------------------------------------------------------ thread

    def messages(self, actor: Actor, ref: str) -> list[Message]:
        """The thread, oldest first, with internal notes (callers here are org members)."""
        return self.get(actor, ref).visible_messages(include_internal=True)

    def add_message(
        self,
        actor: Actor,
        ref: str,
        content: str,
        is_internal_note: bool,
        attachment_ids: Sequence[UUID] = (),
    ) -> Saved[Message]:
        """Post a message or note; `attachment_ids` are files uploaded to this ticket that no message
        uses yet (`AttachmentService.upload`), at most `attachment_limits.max_files`."""
        message_id = uuid4()
        attachment_ids = list(dict.fromkeys(attachment_ids))
        if len(attachment_ids) > self.attachment_limits.max_files:
            raise TooLargeError(
                f"a message carries at most {self.attachment_limits.max_files} attachments; "
                f"got {len(attachment_ids)}"
            )

        def apply(ticket: Ticket, org: Organization, now: datetime) -> Message:
            mentions = parse_mentions(content, org.members_by_handle())
            message = ticket.add_message(
                message_id, actor.user_id, content, is_internal_note, mentions, now, attachment_ids
            )
            # Mentioned agents are dispatched in the same save: the message and its dispatches, or neither.
            dispatch_mentioned_agents(ticket, org, mentions, content, actor.user_id, now)
            return message

        return self._change(actor, ref, apply)

    # ------------------------------------------------------------------ agents

    def dispatch_agent(
        self, actor: Actor, ref: str, agent: str | UUID, instruction: str, source: str = "rule"
    ) -> Saved[UUID]:
        """Dispatch an agent (by id or @handle) to a ticket; returns the dispatch id.

        `actor` is who dispatches: the member, or the member a rule acts for. See
        `application/agents.py:dispatch_agent` to dispatch within a save of one's own.
        """

        def apply(ticket: Ticket, org: Organization, now: datetime) -> UUID:
            return dispatch_agent(org, ticket, agent, instruction, actor.user_id, source=source, at=now)

        return self._change(actor, ref, apply)

    def complete_dispatch(
        self, actor: Actor, ref: str, dispatch_id: UUID, outcome: str, summary: str
    ) -> Saved[None]:
        """An external agent reports how its dispatch ended (with its scoped token; or an admin for it).

        The run finishes and its tokens are revoked in the same save, so the report is the token's
        last use.
        """
        ticket_id = self.resolve_id(actor, ref)

        def attempt() -> Staged[None]:
            now = self.clock()
            ticket = self._load(actor, ticket_id)
            agent_id = ticket.agent_of_dispatch(dispatch_id)
            if actor.user_id != agent_id:
                actor.require(Role.ADMIN)
            ticket.record_agent_outcome(dispatch_id, outcome, summary, actor.user_id, now)
            run = self._run(dispatch_id)
            extra: list[Any] = []
            if run is not None and not run.finished:
                run.finish(outcome, summary[:500], now)
                extra = [run, *self.directory.revoked_tokens(run.token_ids)]
            return Staged(None, (ticket, *extra))

        return self.committer.run(attempt)

    def _run(self, dispatch_id: UUID) -> AgentRun | None:
        try:
            run: AgentRun = self.app.repository.get(AgentRun.create_id(dispatch_id))
        except AggregateNotFoundError:
            return None
        return run

    def edit_message(self, actor: Actor, ref: str, message_id: UUID, content: str) -> Saved[Message]:
        def apply(ticket: Ticket, org: Organization, now: datetime) -> Message:
            mentions = parse_mentions(content, org.members_by_handle())
            return ticket.edit_message(message_id, actor.user_id, content, mentions, now)

        return self._change(actor, ref, apply)

    def delete_message(self, actor: Actor, ref: str, message_id: UUID) -> Saved[None]:
        return self._change(
            actor, ref, lambda ticket, _org, now: ticket.delete_message(message_id, actor.user_id, now)
        )

    # ------------------------------------------------------------------ the contact's commands

    def open_for_contact(
        self,
        contact: ContactActor,
        subject: str,
        description: str,
        files: Sequence[StoredFile] = (),
        *,
        source: Source = Source.PORTAL,
        team_id: UUID | None = None,
        name: str | None = None,
        mail: MailReceipt | None = None,
    ) -> Saved[Ticket]:
        """A ticket the contact opens (in the portal, or by e-mail with `mail`): the contact as
        requester, found or new (`name` for a new one). Files sent with it are carried by a first
        message of the contact's that lists them. A receipt e-mail is queued if the org wants one."""
        message_id = uuid4()

        def attempt() -> Staged[Ticket]:
            now = self.clock()
            self._check_new_mail(contact.org_id, mail)
            org = self.directory.org(contact.org_id)
            person = self.contacts.find(contact.org_id, contact.contact_id)
            email = person.email if person is not None else mail.sender if mail is not None else None
            if email is None:
                raise NotFoundError(f"contact {contact.contact_id} not found")
            new = NewTicket(
                subject=subject,
                description=description,
                source=source,
                team_id=team_id,
                contact_email=email,
                contact_name=person.name if person is not None else name,
            )
            ticket, counter, index, found = self._open_ticket(contact, org, new, now)
            indexes = self._files_message(contact, ticket, message_id, files, now)
            receipt = self._mail_received(ticket, mail, message_id if files else None, now)
            if org.acknowledge_new_tickets:
                ticket.queue_email("acknowledgement", None, now)
            return Staged(ticket, (counter, ticket, index, *_some(found), *indexes, *receipt))

        return self.committer.run(attempt)

    def contact_reply(
        self,
        contact: ContactActor,
        number: int,
        content: str,
        files: Sequence[StoredFile] = (),
        *,
        source: Source = Source.PORTAL,
        mail: MailReceipt | None = None,
    ) -> Saved[Ticket]:
        """The contact answers in the thread of ticket `number`, with files if sent; returns the ticket
        the reply went to.

        A reply reopens a pending or resolved ticket. A closed ticket (or one whose push-back window
        ran out, which closes now) takes no reply: the reply opens a follow-up ticket linked to it.
        """
        message_id = uuid4()
        ticket_id = self.resolve_id(contact, str(number))

        def attempt() -> Staged[Ticket]:
            now = self.clock()
            self._check_new_mail(contact.org_id, mail)
            ticket = self._load(contact, ticket_id)
            org = self.directory.org(contact.org_id)
            ticket.close_after_window(org.push_back_window, now)
            if ticket.status != Status.CLOSED:
                ids, indexes = self._attach(contact, ticket, files, now)
                ticket.add_contact_message(message_id, content, now, ids)
                receipt = self._mail_received(ticket, mail, message_id, now)
                return Staged(ticket, (ticket, *indexes, *receipt))
            carried = _follow_up_of(ticket, org, source, description=content)
            follow_up, counter, index, _ = self._open_ticket(
                contact, org, carried, now, follow_up_of=ticket.id
            )
            ticket.record_follow_up(follow_up.id, contact.contact_id, now)
            indexes = self._files_message(contact, follow_up, message_id, files, now)
            receipt = self._mail_received(follow_up, mail, message_id if files else None, now)
            if org.acknowledge_new_tickets:
                follow_up.queue_email("acknowledgement", None, now)
            return Staged(follow_up, (counter, follow_up, index, ticket, *indexes, *receipt))

        return self.committer.run(attempt)

    def _check_new_mail(self, org_id: UUID, mail: MailReceipt | None) -> None:
        """A mail already taken is not taken again (checked in every attempt: a concurrent delivery of
        the same mail makes the other attempt's save fail, and its retry stops here)."""
        if mail is None:
            return
        try:
            taken: ReceivedMail = self.app.repository.get(
                ReceivedMail.create_id(org_id, mail.mail_message_id)
            )
        except AggregateNotFoundError:
            return
        raise DuplicateMailError(taken.ticket_id)

    @staticmethod
    def _mail_received(
        ticket: Ticket, mail: MailReceipt | None, message_id: UUID | None, now: datetime
    ) -> list[ReceivedMail]:
        """Record on the ticket that a mail made it (or its message), and index the mail's id."""
        if mail is None:
            return []
        ticket.record_mail_received(mail.mail_message_id, message_id, list(mail.dropped), now)
        return [ReceivedMail(ticket.org_id, mail.mail_message_id, ticket.id, message_id, now)]

    @staticmethod
    def _attach(
        contact: ContactActor, ticket: Ticket, files: Sequence[StoredFile], now: datetime
    ) -> tuple[list[UUID], list[AttachmentIndex]]:
        """The contact's stored files as attachments of the ticket, and their index entries."""
        added = [
            ticket.add_attachment(
                uuid4(), f.filename, f.content_type, f.size, f.sha256, contact.contact_id, now
            )
            for f in files
        ]
        indexes = [
            AttachmentIndex(
                org_id=ticket.org_id, ticket_id=ticket.id, attachment_id=a.id, sha256=a.sha256, timestamp=now
            )
            for a in added
        ]
        return [a.id for a in added], indexes

    def _files_message(
        self,
        contact: ContactActor,
        ticket: Ticket,
        message_id: UUID,
        files: Sequence[StoredFile],
        now: datetime,
    ) -> list[AttachmentIndex]:
        """A new ticket's files, carried by a first message of the contact's that names them."""
        if not files:
            return []
        ids, indexes = self._attach(contact, ticket, files, now)
        listed = ", ".join(f.filename for f in files)
        ticket.add_contact_message(message_id, f"Files sent with the request: {listed}", now, ids)
        return indexes

    def contact_resolve(self, contact: ContactActor, number: int) -> Saved[Ticket]:
        """ "This is solved": the contact resolves their ticket (the push-back window starts)."""

        def apply(ticket: Ticket, org: Organization, now: datetime) -> Ticket:
            if ticket.status in (Status.RESOLVED, Status.CLOSED):
                raise TicketClosedError(f"ticket #{ticket.ticket_number} is {ticket.status.value} already")
            ticket.change_status(Status.RESOLVED, contact.contact_id, now)
            return ticket

        return self._change(contact, str(number), apply)

    def contact_reopen(self, contact: ContactActor, number: int) -> Saved[Ticket]:
        """ "Still not working": within the push-back window, the contact reopens a resolved ticket."""

        def apply(ticket: Ticket, org: Organization, now: datetime) -> Ticket:
            if ticket.close_after_window(org.push_back_window, now) or ticket.status == Status.CLOSED:
                raise TicketClosedError(
                    f"ticket #{ticket.ticket_number} is closed; reply to open a follow-up ticket"
                )
            if ticket.status != Status.RESOLVED:
                raise ConflictError(f"ticket #{ticket.ticket_number} is {ticket.status.value}, not resolved")
            ticket.change_status(Status.OPEN, contact.contact_id, now)
            return ticket

        return self._change(contact, str(number), apply)

    # ------------------------------------------------------------------ history

    def stored_events(self, actor: Actor, ref: str) -> list[Ticket.Event]:
        """Every stored event of the ticket, oldest first (admins; deleted tickets too): the audit export."""
        actor.require(Role.ADMIN)
        ticket = self.get(actor, ref, include_deleted=True)
        return list(cast("Iterable[Ticket.Event]", self.app.events.get(ticket.id)))

    def timeline(
        self,
        actor: Actor,
        ref: str,
        after_version: int = 0,
        limit: int | None = None,
        include_deleted: bool = False,
    ) -> list[Activity]:
        """The ticket's events after `after_version`, oldest first, as timeline entries."""
        ticket = self.get(actor, ref, include_deleted=include_deleted)
        events = self.app.events.get(ticket.id, gt=after_version or None, limit=limit)
        return [e.activity() for e in cast("Iterable[Ticket.Event]", events)]


def _some(contact: Contact | None) -> list[Contact]:
    return [] if contact is None else [contact]


def _follow_up_of(original: Ticket, org: Organization, source: Source, description: str = "") -> NewTicket:
    """A follow-up of a closed ticket: its subject, contact and routing (its team, if the org still has it)."""
    return NewTicket(
        subject=original.subject,
        description=description,
        priority=original.priority,
        category=original.category,
        source=source,
        team_id=original.team_id if original.team_id and str(original.team_id) in org.teams else None,
        contact_email=original.contact_email,
        contact_name=original.contact_name,
    )
