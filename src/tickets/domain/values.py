"""Enumerations and small value types of the ticket domain: each defined once, here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Category(StrEnum):
    GENERAL = "general"
    BUG = "bug"
    FEATURE = "feature"
    BILLING = "billing"
    ACCOUNT = "account"
    TECHNICAL = "technical"


class Source(StrEnum):
    WEB = "web"
    EMAIL = "email"
    PORTAL = "portal"
    API = "api"


class IssueStatus(StrEnum):
    """An engineering issue's status: its own six, independent of a ticket's five."""

    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    DONE = "done"
    CANCELLED = "cancelled"


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    VIEWER = "viewer"


# Sort rank used wherever tickets are ordered by priority.
PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.URGENT: 3}


@dataclass(frozen=True)
class SlaTargets:
    """The minutes an SLA policy allows for a first response and for resolution."""

    first_response_minutes: int
    resolution_minutes: int
