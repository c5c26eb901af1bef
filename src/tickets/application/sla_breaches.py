"""The breach recorder: records each SLA breach once, as a `Ticket.SlaBreached` event on the ticket.

It asks the SLA view for tickets past a running deadline whose breach is not yet
recorded, and calls `Ticket.record_sla_breach(now)` on each. The aggregate records a
breach once per deadline, and a concurrent recorder's save clashes on the version and
is retried against the new version, which then records nothing: running it in several
processes at once is safe.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp, position_of, retry_on_conflict
from tickets.domain.ticket import Ticket

if TYPE_CHECKING:
    from projections.runner import ReadSide

logger = logging.getLogger("projections.breaches")


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


def record_due_breaches(read_side: ReadSide, now: datetime, limit: int = 500) -> int:
    """Record the breaches due by `now` that the SLA view knows of; returns how many were recorded."""
    recorded = 0
    for ticket_id in read_side.unrecorded_breaches(now, limit):
        if record_breach(read_side.app, UUID(ticket_id), now) is not None:
            recorded += 1
    if recorded:
        logger.info("recorded %d SLA breaches", recorded)
    return recorded


__all__ = ["record_breach", "record_due_breaches"]
