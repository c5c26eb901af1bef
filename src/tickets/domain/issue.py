"""Engineering issues: the work a ticket can turn into, in their own stream.

An issue has its own number per org (gap-free, like tickets: `IssueCounter` and `IssueNumber` are
saved with it), its own six statuses (independent of a ticket's five), a priority, an assignee and
free `metadata`, where the link to the ticket it came from lives (`metadata.ticketId`), as the spec
says. Links to tickets are also events of the issue (`TicketLinked`), so one issue may link several
tickets and the ticket side records `IssueLinked` in the same save.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.errors import ConflictError, InvalidValueError
from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate
from tickets.domain.ticket import Activity, Ref, Summary
from tickets.domain.values import IssueStatus, Priority

# The most the free metadata of one issue may hold, as JSON text.
METADATA_MAX_CHARS = 16_000


def _changed(label: str, old: object, new: object) -> Summary:
    return Summary(
        f"{label} {{}} → {{}}", (None if old is None else str(old), None if new is None else str(new))
    )


class Issue(TypedAggregate):
    """An engineering issue. Its events are its history (`activity()` of each is its timeline entry)."""

    class Event(Aggregate.Event):
        actor_id: UUID | None

        def _activity(self, kind: str, summary: Summary, old: Any = None, new: Any = None) -> Activity:
            return Activity(
                id=self.originator_id,
                type=kind,
                actor_id=self.actor_id,
                old_value=old,
                new_value=new,
                summary=summary,
                created_at=self.timestamp,
                version=self.originator_version,
            )

    class Created(Event, Aggregate.Created):
        org_id: UUID
        issue_number: int
        title: str
        description: str
        priority: str
        assignee_id: UUID | None
        metadata: dict[str, Any]

        def activity(self) -> Activity:
            return self._activity(
                "created", Summary('created "{}"', (self.title,)), new={"title": self.title}
            )

    @event(Created)
    def __init__(
        self,
        org_id: UUID,
        issue_number: int,
        title: str,
        description: str,
        priority: str,
        assignee_id: UUID | None,
        metadata: dict[str, Any],
        actor_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.org_id = org_id
        self.issue_number = issue_number
        self.title = title
        self.description = description
        self.status = IssueStatus.BACKLOG
        self.priority = Priority(priority)
        self.assignee_id = assignee_id
        self.metadata: dict[str, Any] = dict(metadata)
        self.ticket_ids: list[UUID] = []
        self.deleted = False
        # Who moved it to `done` (while it is done): linked tickets are told in their name.
        self.done_by: UUID | None = None

    def _ensure_live(self) -> None:
        if self.deleted:
            raise ConflictError(f"issue #{self.issue_number} has been deleted")

    def change_title(self, title: str, actor_id: UUID, at: datetime) -> None:
        self._ensure_live()
        if title != self.title:
            self._title_changed(old=self.title, new=title, actor_id=actor_id, timestamp=at)

    class TitleChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity("title_changed", _changed("title", self.old, self.new), self.old, self.new)

    @event(TitleChanged)
    def _title_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.title = new

    def change_description(self, description: str, actor_id: UUID, at: datetime) -> None:
        self._ensure_live()
        if description != self.description:
            self._description_changed(old=self.description, new=description, actor_id=actor_id, timestamp=at)

    class DescriptionChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity("description_changed", Summary("description edited"), self.old, self.new)

    @event(DescriptionChanged)
    def _description_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.description = new

    def change_status(self, status: IssueStatus, actor_id: UUID, at: datetime) -> None:
        """Any status may follow any other (a team's workflow is its own); `done` tells linked tickets."""
        self._ensure_live()
        if status != self.status:
            self._status_changed(old=self.status.value, new=status.value, actor_id=actor_id, timestamp=at)

    class StatusChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity(
                "status_changed", _changed("status", self.old, self.new), self.old, self.new
            )

    @event(StatusChanged)
    def _status_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.status = IssueStatus(new)
        self.done_by = actor_id if self.status == IssueStatus.DONE else None

    def change_priority(self, priority: Priority, actor_id: UUID, at: datetime) -> None:
        self._ensure_live()
        if priority != self.priority:
            self._priority_changed(
                old=self.priority.value, new=priority.value, actor_id=actor_id, timestamp=at
            )

    class PriorityChanged(Event):
        old: str
        new: str

        def activity(self) -> Activity:
            return self._activity(
                "priority_changed", _changed("priority", self.old, self.new), self.old, self.new
            )

    @event(PriorityChanged)
    def _priority_changed(self, old: str, new: str, actor_id: UUID, timestamp: datetime) -> None:
        self.priority = Priority(new)

    def assign(self, assignee_id: UUID | None, actor_id: UUID, at: datetime) -> None:
        self._ensure_live()
        if assignee_id != self.assignee_id:
            self._assigned(old=self.assignee_id, new=assignee_id, actor_id=actor_id, timestamp=at)

    class Assigned(Event):
        old: UUID | None
        new: UUID | None

        def activity(self) -> Activity:
            summary = Summary("assignee {} → {}", (Ref("member", self.old), Ref("member", self.new)))
            return self._activity("assigned", summary, self.old, self.new)

    @event(Assigned)
    def _assigned(self, old: UUID | None, new: UUID | None, actor_id: UUID, timestamp: datetime) -> None:
        self.assignee_id = new

    def change_metadata(self, metadata: dict[str, Any], actor_id: UUID, at: datetime) -> None:
        """Replace the free metadata (a JSON object)."""
        self._ensure_live()
        if metadata != self.metadata:
            self._metadata_changed(old=self.metadata, new=dict(metadata), actor_id=actor_id, timestamp=at)

    class MetadataChanged(Event):
        old: dict[str, Any]
        new: dict[str, Any]

        def activity(self) -> Activity:
            return self._activity("metadata_changed", Summary("metadata edited"), self.old, self.new)

    @event(MetadataChanged)
    def _metadata_changed(
        self, old: dict[str, Any], new: dict[str, Any], actor_id: UUID, timestamp: datetime
    ) -> None:
        self.metadata = dict(new)

    def link_ticket(self, ticket_id: UUID, actor_id: UUID, at: datetime) -> bool:
        """Link a ticket (of the same org: the caller checks); False if it is linked already."""
        self._ensure_live()
        if ticket_id in self.ticket_ids:
            return False
        self._ticket_linked(ticket_id=ticket_id, actor_id=actor_id, timestamp=at)
        return True

    class TicketLinked(Event):
        ticket_id: UUID

        def activity(self) -> Activity:
            return self._activity(
                "ticket_linked",
                Summary("ticket {} linked", (Ref("ticket", self.ticket_id),)),
                new=self.ticket_id,
            )

    @event(TicketLinked)
    def _ticket_linked(self, ticket_id: UUID, actor_id: UUID, timestamp: datetime) -> None:
        self.ticket_ids = [*self.ticket_ids, ticket_id]

    def delete(self, actor_id: UUID, at: datetime) -> None:
        self._ensure_live()
        self._deleted(actor_id=actor_id, timestamp=at)

    class Deleted(Event):
        def activity(self) -> Activity:
            return self._activity("deleted", Summary("deleted"))

    @event(Deleted)
    def _deleted(self, actor_id: UUID, timestamp: datetime) -> None:
        self.deleted = True


ISSUE_EVENT_TYPES: tuple[type[Issue.Event], ...] = (
    Issue.Created,
    Issue.TitleChanged,
    Issue.DescriptionChanged,
    Issue.StatusChanged,
    Issue.PriorityChanged,
    Issue.Assigned,
    Issue.MetadataChanged,
    Issue.TicketLinked,
    Issue.Deleted,
)


class IssueCounter(TypedAggregate):
    """Issues an org's issue numbers: 1, 2, 3, ... saved with the issue, so gap-free."""

    @staticmethod
    def create_id(org_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"issue-counter:{org_id}")

    @event("Started")
    def __init__(self, org_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.last_number = 0

    def next_number(self, issue_id: UUID, at: datetime) -> int:
        self._number_issued(number=self.last_number + 1, issue_id=issue_id, timestamp=at)
        return self.last_number

    @event("NumberIssued")
    def _number_issued(self, number: int, issue_id: UUID, timestamp: datetime) -> None:
        self.last_number = number


class IssueNumber(TypedAggregate):
    """Maps an org's issue number to the issue's id."""

    @staticmethod
    def create_id(org_id: UUID, number: int) -> UUID:
        return uuid5(NAMESPACE, f"issue-number:{org_id}:{number}")

    @event("Registered")
    def __init__(self, org_id: UUID, number: int, issue_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.number = number
        self.issue_id = issue_id


def check_metadata_size(encoded_length: int) -> None:
    if encoded_length > METADATA_MAX_CHARS:
        raise InvalidValueError(f"metadata is at most {METADATA_MAX_CHARS} characters of JSON")


__all__ = [
    "ISSUE_EVENT_TYPES",
    "METADATA_MAX_CHARS",
    "Issue",
    "IssueCounter",
    "IssueNumber",
    "IssueStatus",
    "check_metadata_size",
]
