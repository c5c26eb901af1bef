"""The SLA clock of a ticket: due times, what meets them, and how status changes move them.

One place for these rules: the Ticket aggregate applies them to its own state, and the
read side's fold applies the very same functions to its summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tickets.domain.values import SLA_STOPPED_STATUSES, SlaTargets, Status


@dataclass(frozen=True)
class SlaDueTimes:
    """The due times stamped by an SLA policy (both None when no policy applies)."""

    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None


def due_times(created_at: datetime, held: timedelta, targets: SlaTargets | None) -> SlaDueTimes:
    """Due times for a ticket created at `created_at` that has spent `held` on hold."""
    if targets is None:
        return SlaDueTimes()
    start = created_at + held
    return SlaDueTimes(
        first_response_due_at=start + timedelta(minutes=targets.first_response_minutes),
        resolution_due_at=start + timedelta(minutes=targets.resolution_minutes),
    )


@dataclass(frozen=True)
class SlaClock:
    """The SLA-relevant times of one ticket."""

    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    on_hold_since: datetime | None = None

    @property
    def deadline(self) -> datetime | None:
        """The earliest target not yet met, or None."""
        pending: list[datetime] = []
        if self.first_response_at is None and self.first_response_due_at is not None:
            pending.append(self.first_response_due_at)
        if self.resolved_at is None and self.resolution_due_at is not None:
            pending.append(self.resolution_due_at)
        return min(pending) if pending else None

    def running(self, status: Status) -> bool:
        """True while there is a deadline and the status lets it pass (open or pending)."""
        return self.deadline is not None and status not in SLA_STOPPED_STATUSES

    def is_breached(self, status: Status, now: datetime) -> bool:
        deadline = self.deadline
        return deadline is not None and status not in SLA_STOPPED_STATUSES and now > deadline

    def after_status_change(
        self, previous: Status, status: Status, at: datetime
    ) -> tuple[SlaClock, timedelta]:
        """The clock after moving from `previous` to `status` at `at`, and the time just spent on hold.

        Time on hold does not count: leaving `on_hold` pushes the unmet targets back by it.
        `resolved` and `closed` meet the resolution target; reopening makes it unmet again.
        """
        clock, paused = self, timedelta(0)
        if previous == Status.ON_HOLD and clock.on_hold_since is not None:
            paused = at - clock.on_hold_since
            clock = replace(
                clock,
                first_response_due_at=_pushed(clock.first_response_due_at, clock.first_response_at, paused),
                resolution_due_at=_pushed(clock.resolution_due_at, clock.resolved_at, paused),
                on_hold_since=None,
            )
        if status == Status.ON_HOLD:
            clock = replace(clock, on_hold_since=at)
        if status == Status.RESOLVED:
            clock = replace(clock, resolved_at=at)
        elif status == Status.CLOSED:
            clock = replace(clock, closed_at=at, resolved_at=clock.resolved_at or at)
        elif previous == Status.RESOLVED:
            clock = replace(clock, resolved_at=None)
        return clock, paused

    def after_public_reply(self, author_is_creator: bool, at: datetime) -> SlaClock:
        """The first public reply from anyone but the creator meets the first-response target."""
        if self.first_response_at is None and not author_is_creator:
            return replace(self, first_response_at=at)
        return self


def _pushed(due: datetime | None, met_at: datetime | None, paused: timedelta) -> datetime | None:
    return due + paused if due is not None and met_at is None else due
