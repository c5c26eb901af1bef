"""The closer: a policy that closes each resolved ticket once its org's push-back window has run out.

A resolved ticket waits for its contact to say it is not solved (`autoCloseAfterDays`, default 7).
Time passing is not an event, so, like the SLA breach recorder, this policy is scheduled by the
read side's follower and handed a source of candidates (the portal read model's resolved tickets
whose window has run out). For each, `Ticket.close_after_window` checks the rule on the ticket
itself, with the org's current window, and records `status_changed` by the system (no actor).
A second closer, a retry after a crash, or a read model that lags finds the ticket closed (or
reopened) and records nothing: each ticket closes exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp, position_of, retry_on_conflict
from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket

logger = logging.getLogger("tickets.push_back")

# (now, limit) -> ids of resolved tickets whose push-back window may have run out by `now`.
WindowOver = Callable[[datetime, int], Iterable[str]]


def close_if_window_over(app: TicketsApp, ticket_id: UUID, now: datetime) -> int | None:
    """Close the ticket if its push-back window has run out; the log position, or None."""

    def attempt() -> int | None:
        try:
            ticket: object = app.repository.get(ticket_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(ticket, Ticket):
            return None
        org: Organization = app.repository.get(ticket.org_id)
        if not ticket.close_after_window(org.push_back_window, now):
            return None
        return position_of(app.save(ticket))

    return retry_on_conflict(attempt)


def close_after_window(app: TicketsApp, due: WindowOver, now: datetime, limit: int = 500) -> int:
    """Close the tickets among those `due` names whose window has run out by `now`; how many closed."""
    closed = sum(close_if_window_over(app, UUID(ticket_id), now) is not None for ticket_id in due(now, limit))
    if closed:
        logger.info("closed %d resolved tickets after their push-back window", closed)
    return closed


__all__ = ["WindowOver", "close_after_window", "close_if_window_over"]
