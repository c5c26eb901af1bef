"""The SLA clock of a ticket: due times, what meets them, and how status changes move them.

One place for these rules: the Ticket aggregate applies them to its own state, and the
read side's fold applies the very same functions to its summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tickets.domain.values import SlaTargets, Status


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


def warning_time(deadline: datetime, window_start: datetime, percent: int) -> datetime:
    """When `percent` of the time from `window_start` (the creation, moved on by holds) to `deadline` has gone."""
    return window_start + (deadline - window_start) * percent / 100


@dataclass(frozen=True)
class SlaClock:
    """The SLA-relevant times of one ticket, and the outcome of each target so far.

    A target is *missed* once its due time passes while it is unmet and the clock runs
    (counted up to the hold or the resolution that stopped it). Whether a target met was
    met in time is decided when it is met, by the same rule (a reply during a hold is judged
    by the time the hold began). A missed target stays missed: hold time does not move it,
    resolving does not hide it, and re-stamping the due times keeps the fact
    (`first_response_missed` / `resolution_missed` record it at every change of the clock).
    """

    first_response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    on_hold_since: datetime | None = None
    first_response_missed: bool = False
    resolution_missed: bool = False

    @property
    def deadline(self) -> datetime | None:
        """The earliest target not yet met, or None."""
        pending = self._unmet_due_times()
        return min(pending) if pending else None

    @property
    def paused(self) -> bool:
        """True while on hold with a target still running: its due time will move when the hold ends."""
        return self.remaining_when_paused is not None

    def shown_deadline(self, status: Status) -> datetime | None:
        """The deadline clients see: while it can still pass or stands passed; not while paused (the due
        times are about to move), nor once resolved or closed."""
        return self.deadline if self.running(status) and not self.paused else None

    @property
    def remaining_when_paused(self) -> timedelta | None:
        """On hold: the time that was left to the earliest target not yet missed (None: nothing runs)."""
        if self.on_hold_since is None:
            return None
        held_from = self.on_hold_since
        left = [due - held_from for due in self._unmet_due_times() if due >= held_from]
        return min(left) if left else None

    def _unmet_due_times(self) -> list[datetime]:
        due: list[datetime] = []
        if self.first_response_at is None and self.first_response_due_at is not None:
            due.append(self.first_response_due_at)
        if self.resolved_at is None and self.resolution_due_at is not None:
            due.append(self.resolution_due_at)
        return due

    def breach_watch(self, status: Status) -> datetime | None:
        """The time after which the ticket counts as breached now (None: it does not, whatever the time).

        Open or pending: its deadline. On hold: the earliest target it had already missed when
        the hold began (that breach stands). Resolved or closed: None.
        """
        if status in (Status.OPEN, Status.PENDING):
            return self.deadline
        if status == Status.ON_HOLD and self.on_hold_since is not None:
            held_from = self.on_hold_since
            missed = [due for due in self._unmet_due_times() if due < held_from]
            return min(missed) if missed else None
        return None

    def running(self, status: Status) -> bool:
        """True while a breach can happen or has happened and still counts (see `breach_watch`)."""
        return self.breach_watch(status) is not None

    def is_breached(self, status: Status, now: datetime) -> bool:
        """Breached now: past the deadline with the clock running, or on hold with a target already missed."""
        watch = self.breach_watch(status)
        return watch is not None and now > watch

    def first_response_breached(self, now: datetime | None) -> bool:
        """Whether the first-response target has been missed (`now` None: only what is already decided)."""
        return self.first_response_missed or _missed(
            self.first_response_due_at, self.first_response_at, self._stopped_at(), now
        )

    def resolution_breached(self, now: datetime | None) -> bool:
        """Whether the resolution target has been missed (`now` None: only what is already decided)."""
        return self.resolution_missed or _missed(
            self.resolution_due_at, self.resolved_at, self.on_hold_since, now
        )

    def ever_breached(self, now: datetime | None) -> bool:
        return self.first_response_breached(now) or self.resolution_breached(now)

    def _stopped_at(self) -> datetime | None:
        """When the clock stopped for an unmet target: the hold began, or the ticket was resolved."""
        return self.on_hold_since or self.resolved_at

    def settled(self, at: datetime) -> SlaClock:
        """The clock with the outcome of each target as of `at` recorded, before the clock changes."""
        missed = (self.first_response_breached(at), self.resolution_breached(at))
        if missed == (self.first_response_missed, self.resolution_missed):
            return self  # nothing new to record (a clock is immutable: no copy needed)
        return replace(self, first_response_missed=missed[0], resolution_missed=missed[1])

    def with_due_times(self, due: SlaDueTimes, at: datetime) -> SlaClock:
        """New due times (a policy re-stamp); a target already missed stays missed."""
        return replace(
            self.settled(at),
            first_response_due_at=due.first_response_due_at,
            resolution_due_at=due.resolution_due_at,
        )

    def resumed_to(self, due: SlaDueTimes, at: datetime) -> SlaClock:
        """The clock after a recorded resume (`Ticket.SlaClockResumed`): the moved due times, no hold."""
        return replace(
            self.settled(at),
            first_response_due_at=due.first_response_due_at,
            resolution_due_at=due.resolution_due_at,
            on_hold_since=None,
        )

    def resumed(self, at: datetime, move_missed: bool = False) -> tuple[SlaClock, timedelta]:
        """The clock when a hold ends at `at`, and the time held.

        Time on hold does not count: the targets still running when the hold began move later
        by the time held; a target already missed then does not move. (`move_missed` replays
        the rule of holds recorded before `Ticket.SlaClockResumed` existed: every unmet target moved.)
        """
        if self.on_hold_since is None:
            return self, timedelta(0)
        held_from = self.on_hold_since
        paused = at - held_from
        kept_from = None if move_missed else held_from
        due = SlaDueTimes(
            _pushed(self.first_response_due_at, self.first_response_at, kept_from, paused),
            _pushed(self.resolution_due_at, self.resolved_at, kept_from, paused),
        )
        return self.resumed_to(due, at), paused

    def after_status_change(
        self, previous: Status, status: Status, at: datetime
    ) -> tuple[SlaClock, timedelta]:
        """The clock after moving from `previous` to `status` at `at`, and the time just spent on hold.

        A ticket leaving `on_hold` resumes the clock first (`resumed`); the ticket records that as
        its own event, so here it only happens for events recorded before that event existed, and
        by their rule: every unmet target moves, so old tickets replay as they were.
        `resolved` and `closed` meet the resolution target; reopening makes it unmet again.
        """
        clock, paused = self.settled(at), timedelta(0)
        if previous == Status.ON_HOLD and clock.on_hold_since is not None:
            clock, paused = clock.resumed(at, move_missed=True)
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
            return replace(self.settled(at), first_response_at=at)
        return self


def _missed(
    due: datetime | None, met_at: datetime | None, stopped_at: datetime | None, now: datetime | None
) -> bool:
    """Whether an unmet target is past its due time, counted until the clock stopped (or `now`).

    A met target's outcome was recorded when it was met (`SlaClock.settled` runs first), so it
    is not judged again here.
    """
    if due is None or met_at is not None:
        return False
    until = stopped_at or now
    return until is not None and until > due


def _pushed(
    due: datetime | None, met_at: datetime | None, kept_from: datetime | None, paused: timedelta
) -> datetime | None:
    """A due time after a hold: moved by the time held, unless met, or missed before `kept_from`."""
    if due is None or met_at is not None or (kept_from is not None and due < kept_from):
        return due
    return due + paused
