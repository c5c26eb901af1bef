"""Engineering issues: create, convert a ticket into one, change, link, and tell tickets when one is done.

The same rules as tickets: org isolation (another org's issue is as missing), roles (viewers read,
agents write), the org's members as assignees, gap-free numbers per org. The link between a ticket
and an issue is recorded on both in one save (`Issue.TicketLinked` and `Ticket.IssueLinked`), and the
issue's `metadata.ticketId` names the ticket it was converted from, as the spec asks.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from threading import Lock
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.application.directory import DirectoryService
from tickets.application.tickets import TicketService
from tickets.domain.commands import IssueChanges, Keep, NewIssue
from tickets.domain.errors import InvalidValueError, NotFoundError
from tickets.domain.issue import Issue, IssueCounter, IssueNumber, IssueStatus, check_metadata_size
from tickets.domain.ticket import Activity, Ticket
from tickets.domain.values import Role
from tickets.infrastructure.clock import Clock, system_clock

T = TypeVar("T")
ISSUE_NUMBER_REF = re.compile(r"^#?(\d{1,18})$")

# (now, limit) -> (issue id, ticket id) pairs: a done issue whose linked ticket was not told yet.
DoneLinks = Callable[[datetime, int], Iterable[tuple[str, str]]]


class IssueService:
    def __init__(
        self,
        app: TicketsApp,
        directory: DirectoryService,
        tickets: TicketService,
        clock: Clock = system_clock,
    ) -> None:
        self.app = app
        self.directory = directory
        self.tickets = tickets
        self.clock = clock
        self._counter_locks: defaultdict[UUID, Lock] = defaultdict(Lock)

    # ------------------------------------------------------------------ loading

    def resolve_id(self, actor: Actor, ref: str) -> UUID:
        """An issue's id from its UUID or its org-wide number (`7` or `#7`)."""
        number = ISSUE_NUMBER_REF.match(ref.strip())
        if number:
            try:
                index: IssueNumber = self.app.repository.get(
                    IssueNumber.create_id(actor.org_id, int(number.group(1)))
                )
            except AggregateNotFoundError:
                raise NotFoundError(f"issue #{number.group(1)} not found") from None
            return index.issue_id
        try:
            return UUID(ref)
        except ValueError:
            raise NotFoundError(f"issue {ref!r} not found: use the issue's UUID or its number") from None

    def _load(self, actor: Actor, issue_id: UUID, include_deleted: bool = False) -> Issue:
        try:
            issue: object = self.app.repository.get(issue_id)
        except AggregateNotFoundError:
            issue = None
        if not isinstance(issue, Issue) or issue.org_id != actor.org_id:
            raise NotFoundError(f"issue {issue_id} not found")
        if issue.deleted and not include_deleted:
            raise NotFoundError(f"issue #{issue.issue_number} has been deleted")
        return issue

    def get(self, actor: Actor, ref: str) -> Issue:
        return self._load(actor, self.resolve_id(actor, ref))

    # ------------------------------------------------------------------ commands

    def _check(self, actor: Actor, assignee_id: UUID | Keep | None, metadata: dict[str, Any] | Keep) -> None:
        if isinstance(assignee_id, UUID) and not self.directory.org(actor.org_id).is_member(assignee_id):
            raise InvalidValueError(f"assigneeId {assignee_id} is not a member of this org")
        if isinstance(metadata, dict):
            check_metadata_size(len(json.dumps(metadata)))

    def _new(self, actor: Actor, new: NewIssue, now: datetime) -> tuple[Issue, IssueCounter, IssueNumber]:
        try:
            counter: IssueCounter = self.app.repository.get(IssueCounter.create_id(actor.org_id))
        except AggregateNotFoundError:
            counter = IssueCounter(org_id=actor.org_id, timestamp=now)
        issue = Issue(
            org_id=actor.org_id,
            issue_number=counter.last_number + 1,
            title=new.title,
            description=new.description,
            priority=new.priority.value,
            assignee_id=new.assignee_id,
            metadata=new.metadata,
            actor_id=actor.user_id,
            timestamp=now,
        )
        number = counter.next_number(issue.id, now)
        return (
            issue,
            counter,
            IssueNumber(org_id=actor.org_id, number=number, issue_id=issue.id, timestamp=now),
        )

    def create(self, actor: Actor, new: NewIssue) -> Saved[Issue]:
        actor.require(Role.AGENT)
        self._check(actor, new.assignee_id, new.metadata)

        def attempt() -> Saved[Issue]:
            issue, counter, index = self._new(actor, new, self.clock())
            return Saved(issue, position_of(self.app.save(counter, issue, index)))

        with self._counter_locks[actor.org_id]:
            return retry_on_conflict(attempt)

    def convert(
        self, actor: Actor, ticket_ref: str, title: str | None, description: str | None
    ) -> Saved[Issue]:
        """A new issue from a ticket ("this is a real bug"): its subject and description by default,
        `metadata.ticketId`, and the link recorded on both, in one save."""
        actor.require(Role.AGENT)
        ticket_id = self.tickets.resolve_id(actor, ticket_ref)

        def attempt() -> Saved[Issue]:
            now = self.clock()
            ticket = self.tickets.get(actor, str(ticket_id))
            new = NewIssue(
                title=title or ticket.subject,
                description=ticket.description if description is None else description,
                priority=ticket.priority,
                metadata={"ticketId": str(ticket.id), "ticketNumber": ticket.ticket_number},
            )
            issue, counter, index = self._new(actor, new, now)
            issue.link_ticket(ticket.id, actor.user_id, now)
            ticket.link_issue(issue.id, issue.issue_number, actor.user_id, now)
            return Saved(issue, position_of(self.app.save(counter, issue, index, ticket)))

        with self._counter_locks[actor.org_id]:
            return retry_on_conflict(attempt)

    def update(self, actor: Actor, ref: str, changes: IssueChanges) -> Saved[Issue]:
        actor.require(Role.AGENT)
        self._check(actor, changes.assignee_id, changes.metadata)
        issue_id = self.resolve_id(actor, ref)

        def attempt() -> Saved[Issue]:
            now, who = self.clock(), actor.user_id
            issue = self._load(actor, issue_id)
            if not isinstance(changes.title, Keep):
                issue.change_title(changes.title, who, now)
            if not isinstance(changes.description, Keep):
                issue.change_description(changes.description, who, now)
            if not isinstance(changes.priority, Keep):
                issue.change_priority(changes.priority, who, now)
            if not isinstance(changes.assignee_id, Keep):
                issue.assign(changes.assignee_id, who, now)
            if not isinstance(changes.metadata, Keep):
                issue.change_metadata(changes.metadata, who, now)
            if not isinstance(changes.status, Keep):
                issue.change_status(changes.status, who, now)
            return Saved(issue, position_of(self.app.save(issue)))

        return retry_on_conflict(attempt)

    def link(self, actor: Actor, ref: str, ticket_ref: str) -> Saved[Issue]:
        """Link another ticket of the org to the issue (both record it); linking twice changes nothing."""
        actor.require(Role.AGENT)
        issue_id = self.resolve_id(actor, ref)
        ticket_id = self.tickets.resolve_id(actor, ticket_ref)

        def attempt() -> Saved[Issue]:
            now = self.clock()
            issue = self._load(actor, issue_id)
            ticket = self.tickets.get(actor, str(ticket_id))
            issue.link_ticket(ticket.id, actor.user_id, now)
            ticket.link_issue(issue.id, issue.issue_number, actor.user_id, now)
            return Saved(issue, position_of(self.app.save(issue, ticket)))

        return retry_on_conflict(attempt)

    def delete(self, actor: Actor, ref: str) -> Saved[None]:
        actor.require(Role.AGENT)
        issue_id = self.resolve_id(actor, ref)

        def attempt() -> Saved[None]:
            issue = self._load(actor, issue_id)
            issue.delete(actor.user_id, self.clock())
            return Saved(None, position_of(self.app.save(issue)))

        return retry_on_conflict(attempt)

    def timeline(
        self, actor: Actor, ref: str, after_version: int = 0, limit: int | None = None
    ) -> list[Activity]:
        issue = self._load(actor, self.resolve_id(actor, ref), include_deleted=True)
        events = self.app.events.get(issue.id, gt=after_version or None, limit=limit)
        return [e.activity() for e in cast("Iterable[Any]", events)]


def tell_tickets_of_done_issues(app: TicketsApp, due: DoneLinks, now: datetime, limit: int = 500) -> int:
    """The policy: each ticket linked to an issue that reached `done` gets an internal note, by the
    member who finished it, once (the ticket records it: a second run finds it told)."""
    told = 0
    for issue_id, ticket_id in due(now, limit):

        def attempt(issue_id: str = issue_id, ticket_id: str = ticket_id) -> bool:
            issue: Issue = app.repository.get(UUID(issue_id))
            ticket: Ticket = app.repository.get(UUID(ticket_id))
            if issue.status != IssueStatus.DONE or issue.done_by is None:
                return False
            if not ticket.record_issue_done(issue.id, issue.issue_number, issue.title, issue.done_by, now):
                return False
            app.save(ticket)
            return True

        told += retry_on_conflict(attempt)
    return told


__all__ = ["DoneLinks", "IssueService", "tell_tickets_of_done_issues"]
