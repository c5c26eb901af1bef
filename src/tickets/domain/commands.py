"""What a caller asks for: a new ticket, and the changes to a ticket or an org's settings.

Each is a typed value the API converts its request body into directly (`api/schemas.py`
`command`), and the application and the aggregates consume as it is. In a change, `KEEP`
marks a field the caller did not send; `None` is a value (no team, no assignee).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Final
from uuid import UUID

from tickets.domain.rules import Action, Condition
from tickets.domain.values import Category, IssueStatus, Priority, Role, Source, Status


class Keep(Enum):
    """The type of `KEEP`: a field left as it is."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


def sent(change: object) -> dict[str, Any]:
    """The fields of a change that are not `KEEP`, by name (for checks that look at them all)."""
    return {f.name: getattr(change, f.name) for f in fields(change) if getattr(change, f.name) is not KEEP}  # type: ignore[arg-type]


@dataclass(frozen=True)
class NewTicket:
    subject: str
    description: str = ""
    priority: Priority = Priority.MEDIUM
    category: Category = Category.GENERAL
    source: Source = Source.API
    team_id: UUID | None = None
    assignee_id: UUID | None = None
    contact_email: str | None = None
    contact_name: str | None = None
    tag_ids: list[UUID] = field(default_factory=list)


@dataclass(frozen=True)
class TicketChanges:
    """A PATCH of a ticket; `tag_ids` is the whole new set."""

    subject: str | Keep = KEEP
    description: str | Keep = KEEP
    status: Status | Keep = KEEP
    priority: Priority | Keep = KEEP
    category: Category | Keep = KEEP
    team_id: UUID | Keep | None = KEEP
    contact_email: str | Keep | None = KEEP
    contact_name: str | Keep | None = KEEP
    assignee_id: UUID | Keep | None = KEEP
    tag_ids: list[UUID] | Keep = KEEP


@dataclass(frozen=True)
class NewIssue:
    title: str
    description: str = ""
    priority: Priority = Priority.MEDIUM
    assignee_id: UUID | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IssueChanges:
    """A PATCH of an issue; `metadata` is the whole new object."""

    title: str | Keep = KEEP
    description: str | Keep = KEEP
    status: IssueStatus | Keep = KEEP
    priority: Priority | Keep = KEEP
    assignee_id: UUID | Keep | None = KEEP
    metadata: dict[str, Any] | Keep = KEEP


@dataclass(frozen=True)
class MemberChanges:
    name: str | Keep = KEEP
    role: Role | Keep = KEEP


@dataclass(frozen=True)
class TeamChanges:
    name: str | Keep = KEEP
    description: str | Keep = KEEP
    private: bool | Keep = KEEP


@dataclass(frozen=True)
class TagChanges:
    name: str | Keep = KEEP
    color: str | Keep = KEEP
    team_id: UUID | Keep | None = KEEP


@dataclass(frozen=True)
class SlaPolicyChanges:
    priority: Priority | Keep = KEEP
    first_response_minutes: int | Keep = KEEP
    resolution_minutes: int | Keep = KEEP
    team_id: UUID | Keep | None = KEEP


@dataclass(frozen=True)
class CannedResponseChanges:
    title: str | Keep = KEEP
    body: str | Keep = KEEP
    team_id: UUID | Keep | None = KEEP


@dataclass(frozen=True)
class RuleSpec:
    """A trigger rule as a caller writes it (`domain/rules.py` checks it)."""

    name: str
    on: list[str]
    actions: list[Action]
    all_of: list[Condition] = field(default_factory=list)
    any_of: list[Condition] = field(default_factory=list)
    active: bool = True
    position: int = 0


@dataclass(frozen=True)
class RuleChanges:
    """A PATCH of a rule: each field sent replaces the rule's (conditions and actions as wholes)."""

    name: str | Keep = KEEP
    on: list[str] | Keep = KEEP
    actions: list[Action] | Keep = KEEP
    all_of: list[Condition] | Keep = KEEP
    any_of: list[Condition] | Keep = KEEP
    active: bool | Keep = KEEP
    position: int | Keep = KEEP
