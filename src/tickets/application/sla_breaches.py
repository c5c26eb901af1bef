"""The SLA breach recorder: a policy that records each SLA breach once, as `Ticket.SlaBreached`.

A breach happens by the clock passing, not by an event, so this policy is scheduled (the
read side's follower runs it every 15 s) rather than driven by events. It is given a
source of due tickets (the SLA read model's tickets past a running deadline whose breach
is not yet recorded) and calls `Ticket.record_sla_breach(now)` on each. The aggregate
records a breach once per deadline, and a concurrent recorder's save clashes on the
version and is retried against the new version, which then records nothing: running it
in several processes at once is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp, position_of, retry_on_conflict
from tickets.domain.ticket import Ticket

logger = logging.getLogger("tickets.sla_breaches")

# (now, limit) -> ids of tickets whose breach may be due by `now` and is not yet recorded.
DueBreaches = Callable[[datetime, int], Iterable[str]]


def record_breach(app: TicketsApp, ticket_id: UUID, now: datetime) -> int | None:
    """Record the ticket's breach if it is due and not yet recorded; the log position, or None."""

    def attempt() -> int | None:
        try:
            ticket: object = app.repository.get(ticket_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(ticket, Ticket) or not ticket.record_sla_breach(now):
            return None
        return position_of(app.save(ticket))

    return retry_on_conflict(attempt)


def record_due_breaches(app: TicketsApp, due: DueBreaches, now: datetime, limit: int = 500) -> int:
    """Record the breaches due by `now` among those `due` names; returns how many were recorded."""
    recorded = 0
    for ticket_id in due(now, limit):
        if record_breach(app, UUID(ticket_id), now) is not None:
            recorded += 1
    if recorded:
        logger.info("recorded %d SLA breaches", recorded)
    return recorded


__all__ = ["DueBreaches", "record_breach", "record_due_breaches"]
