"""Agents' aggregates: each dispatch's run (claimed once, with a lease), and each external agent's secret.

A dispatch is recorded on its ticket (`Ticket.AgentDispatched`); running it is the dispatcher's
(`application/agent_dispatcher.py`), a policy that follows the log. `AgentRun`, whose id is derived
from the dispatch id, is what makes it run once: a server claims a run by saving its next version,
which the store lets one server do; a claim lasts `DISPATCH_LEASE`, after which another server
may take over a run whose server died.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.leases import attempt_due
from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate

# A claim lasts this long: a server that dies while running a dispatch leaves it to another after it.
DISPATCH_LEASE = timedelta(minutes=5)
# POST attempts to an external agent before the dispatch fails: 1 and 2 minutes apart.
MAX_DISPATCH_ATTEMPTS = 3
# How long an external agent's ticket-scoped token works, and so how long it has to report.
DISPATCH_TOKEN_LIFETIME = timedelta(minutes=15)

DispatchSource = Literal["mention", "rule"]
DISPATCH_SOURCES: tuple[DispatchSource, ...] = ("mention", "rule")
DispatchOutcome = Literal["completed", "failed"]
RunState = Literal["running", "waiting", "retrying", "finished"]


def dispatch_retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt `attempt` (1-based) before the next: 1, 2, 4 ... minutes."""
    return timedelta(minutes=2 ** (attempt - 1))


class AgentRun(TypedAggregate):
    """Running one dispatch: its attempts, the tokens issued to it, and how it ended."""

    @staticmethod
    def create_id(dispatch_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"agent-run:{dispatch_id}")

    class Claimed(Aggregate.Created):
        dispatch_id: UUID
        org_id: UUID
        ticket_id: UUID
        agent_id: UUID
        lease_until: datetime
        token_ids: list[UUID]

    class Reclaimed(Aggregate.Event):
        lease_until: datetime
        token_ids: list[UUID]

    class Delivered(Aggregate.Event):
        """The external agent took the dispatch (2xx): it has until `report_by` to report."""

        report_by: datetime

    class Failed(Aggregate.Event):
        error: str
        retry_at: datetime | None

    class Finished(Aggregate.Event):
        outcome: str
        summary: str

    @event(Claimed)
    def __init__(
        self,
        dispatch_id: UUID,
        org_id: UUID,
        ticket_id: UUID,
        agent_id: UUID,
        lease_until: datetime,
        token_ids: list[UUID],
        timestamp: datetime,
    ) -> None:
        self.dispatch_id = dispatch_id
        self.org_id = org_id
        self.ticket_id = ticket_id
        self.agent_id = agent_id
        self.state: RunState = "running"
        self.attempts = 1
        self.lease_until = lease_until
        self.token_ids: list[UUID] = list(token_ids)
        self.report_by: datetime | None = None
        self.retry_at: datetime | None = None
        self.last_error: str | None = None
        self.outcome: str | None = None

    @property
    def finished(self) -> bool:
        return self.state == "finished"

    def report_overdue(self, now: datetime) -> bool:
        """The agent took the dispatch and did not report before its token expired."""
        return self.state == "waiting" and self.report_by is not None and now >= self.report_by

    def claim(self, now: datetime, token_ids: list[UUID], lease: timedelta = DISPATCH_LEASE) -> bool:
        """Take the next attempt, unless the run is finished, held by another server, waiting for the
        agent's report, or its retry is not due."""
        if self.finished or self.state == "waiting":
            return False
        if not attempt_due(self.state, "running", self.lease_until, self.retry_at, now):
            return False
        self._reclaimed(lease_until=now + lease, token_ids=token_ids, timestamp=now)
        return True

    @event(Reclaimed)
    def _reclaimed(self, lease_until: datetime, token_ids: list[UUID], timestamp: datetime) -> None:
        self.state = "running"
        self.attempts += 1
        self.lease_until = lease_until
        self.token_ids = [*self.token_ids, *token_ids]

    @event(Delivered)
    def delivered(self, report_by: datetime, timestamp: datetime) -> None:
        self.state = "waiting"
        self.report_by = report_by

    def fail(self, error: str, now: datetime, give_up: bool = False) -> bool:
        """Record a failed attempt; returns whether it was the last (attempts run out, or `give_up`)."""
        final = give_up or self.attempts >= MAX_DISPATCH_ATTEMPTS
        self._failed(
            error=error[:500],
            retry_at=None if final else now + dispatch_retry_delay(self.attempts),
            timestamp=now,
        )
        return final

    @event(Failed)
    def _failed(self, error: str, retry_at: datetime | None, timestamp: datetime) -> None:
        self.state = "retrying"
        self.retry_at = retry_at
        self.last_error = error

    @event(Finished)
    def finish(self, outcome: str, summary: str, timestamp: datetime) -> None:
        self.state = "finished"
        self.outcome = outcome


class AgentSecret(TypedAggregate):
    """The secret an external agent's dispatches are signed with (Standard Webhooks `whsec_...`).

    Kept apart from the org (whose events every member's timeline and the org's snapshots carry),
    under an id derived from the agent's, and shown once, when the agent is created or the secret
    rotated.
    """

    @staticmethod
    def create_id(agent_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"agent-secret:{agent_id}")

    @event("Created")
    def __init__(self, org_id: UUID, agent_id: UUID, secret: str, timestamp: datetime) -> None:
        self.org_id = org_id
        self.agent_id = agent_id
        self.secret = secret

    @event("Rotated")
    def rotate(self, secret: str, timestamp: datetime) -> None:
        self.secret = secret


__all__ = [
    "DISPATCH_LEASE",
    "DISPATCH_SOURCES",
    "DISPATCH_TOKEN_LIFETIME",
    "MAX_DISPATCH_ATTEMPTS",
    "AgentRun",
    "AgentSecret",
    "DispatchOutcome",
    "DispatchSource",
    "dispatch_retry_delay",
]
