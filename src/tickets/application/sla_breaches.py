"""The SLA breach recorder: a policy that records each SLA breach once, as `Ticket.SlaBreached`,
and each warning that a breach is near (the org's share of the target gone) as `Ticket.SlaWarned`.

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
from functools import partial
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp, position_of, retry_on_conflict
from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket

logger = logging.getLogger("tickets.sla_breaches")

# (now, limit) -> ids of tickets whose breach may be due by `now` and is not yet recorded.
DueBreaches = Callable[[datetime, int], Iterable[str]]
# (now, org id -> its warning share (None: none), limit) -> ids of tickets whose warning may be due.
DueWarnings = Callable[[datetime, Callable[[str], int | None], int], Iterable[str]]


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


def record_due_warnings(app: TicketsApp, due: DueWarnings, now: datetime, limit: int = 500) -> int:
    """Record an about-to-breach warning (`Ticket.SlaWarned`) on each ticket `due` names whose org's
    share of the time to the deadline has gone; once per deadline, like breaches. How many it recorded."""
    percents: dict[str, int | None] = {}

    def percent_of(org_id: str) -> int | None:
        if org_id not in percents:
            try:
                org: object = app.repository.get(UUID(org_id))
            except AggregateNotFoundError:
                org = None
            percents[org_id] = org.sla_warning_percent if isinstance(org, Organization) else None
        return percents[org_id]

    def warn(ticket_id: UUID) -> bool:
        try:
            ticket: object = app.repository.get(ticket_id)
        except AggregateNotFoundError:
            return False
        if not isinstance(ticket, Ticket):
            return False
        if not ticket.record_sla_warning(now, percent_of(str(ticket.org_id))):
            return False
        app.save(ticket)
        return True

    recorded = 0
    for ticket_id in due(now, percent_of, limit):
        recorded += retry_on_conflict(partial(warn, UUID(ticket_id)))
    if recorded:
        logger.info("recorded %d SLA warnings", recorded)
    return recorded


__all__ = ["DueBreaches", "DueWarnings", "record_breach", "record_due_breaches", "record_due_warnings"]
