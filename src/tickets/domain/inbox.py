"""A member's inbox: what they have read, and what they want to be told of.

The notifications themselves are a read model built from the log (`projections/inbox.py`): being
assigned, @-mentioned, a contact's reply on one's ticket, an SLA breach on it or one about to
happen, a linked issue done.
What the member does with them is theirs, and is recorded here: items read, everything read up to a
point, which kinds they want at all (from when they say so), and whether they want an e-mail
digest of what they have not read (hourly or daily), with each digest queued once per period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate

# Every kind of notification, and whether a member gets it unless they say otherwise.
NOTIFICATION_KINDS: Final = (
    "assigned",
    "mentioned",
    "contact_replied",
    "sla_breached",
    "sla_warning",
    "issue_done",
    "agent_completed",
    "agent_failed",
    "webhook_disabled",
)
DEFAULT_NOTIFY: Final = dict.fromkeys(NOTIFICATION_KINDS, True)

# How often a member wants their unread notifications by e-mail ("off" by default).
DigestFrequency = Literal["off", "hourly", "daily"]
DIGEST_FREQUENCIES: Final[tuple[DigestFrequency, ...]] = ("off", "hourly", "daily")
# A digest lists this many notifications at most, and says how many more are unread.
DIGEST_MAX_ITEMS: Final = 50

# A notification in words, before what it is about: "{actor} mentioned you on" + " #42 Printer on fire".
NOTIFICATION_SUMMARIES: Final = {
    "assigned": "{actor} assigned you",
    "mentioned": "{actor} mentioned you on",
    "contact_replied": "the contact replied on",
    "sla_breached": "SLA breached on",
    "sla_warning": "SLA deadline approaching on",
    "issue_done": "a linked issue is done on",
    "agent_completed": "{actor} finished on",
    "agent_failed": "{actor} failed on",
    "webhook_disabled": "webhook disabled:",
}


def notification_summary(kind: str, actor: str, about: str) -> str:
    """A notification in one line: who did what (`actor`: an @handle, or "a rule"), on what (`about`)."""
    words = NOTIFICATION_SUMMARIES.get(kind, kind.replace("_", " ") + " on")
    return f"{words.format(actor=actor)} {about}"


def digest_period(frequency: DigestFrequency, now: datetime) -> str | None:
    """The latest digest period that has ended by `now`, by its start in UTC: an hour
    (`2026-01-05T09:00Z`, ended at 10:00) or a day (`2026-01-05`, ended at midnight). None when off."""
    now = now.astimezone(UTC)
    if frequency == "hourly":
        return (now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:00Z"
        )
    if frequency == "daily":
        return (now - timedelta(days=1)).strftime("%Y-%m-%d")
    return None


class Inbox(TypedAggregate):
    """One member's inbox settings and reading."""

    # The version of the inbox's state, for snapshots (`domain/snapshots.py`).
    # 2: the e-mail digest (a snapshot from before has none of its state: replay instead).
    class_version = 2

    @staticmethod
    def create_id(org_id: UUID, user_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"inbox:{org_id}:{user_id}")

    class Opened(Aggregate.Created):
        org_id: UUID
        user_id: UUID

    class ItemsRead(Aggregate.Event):
        item_ids: list[str]

    class AllRead(Aggregate.Event):
        up_to: int

    class PreferencesChanged(Aggregate.Event):
        notify: dict[str, bool]

    class DigestChosen(Aggregate.Event):
        """The member chose how often to be mailed a digest; `after`: the log position its first
        digest starts after; `period_done`: the period whose digest will never be sent (it had begun)."""

        frequency: DigestFrequency
        after: int
        period_done: str | None

    class DigestQueued(Aggregate.Event):
        """A digest of `period` is to be mailed (the outbox learns it): the unread notifications
        after the previous digest up to log position `up_to`, each `{item_id, kind, ticket_id,
        actor_id, subject}`, and how many `more` were unread than it lists."""

        period: str
        items: list[dict[str, Any]]
        more: int
        up_to: int

    class DigestSkipped(Aggregate.Event):
        """Nothing of `period` up to `up_to` may be told (every unread notification is of a ticket
        the member can no longer see): no mail, and the next digest starts after it."""

        period: str
        up_to: int

    @event(Opened)
    def __init__(self, org_id: UUID, user_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.user_id = user_id
        self.notify: dict[str, bool] = dict(DEFAULT_NOTIFY)
        self.email_digest: DigestFrequency = "off"
        # The next digest lists the notifications after this log position...
        self.digest_after = 0
        # ... once a period later than this one has ended.
        self.digest_period_done: str | None = None

    @event(ItemsRead)
    def read(self, item_ids: list[str], timestamp: datetime) -> None:
        """Mark these items read."""

    @event(AllRead)
    def read_all(self, up_to: int, timestamp: datetime) -> None:
        """Mark every item up to log position `up_to` read."""

    def set_notify(self, changes: dict[str, bool], at: datetime) -> bool:
        """Turn kinds of notification on or off (from now on); False if nothing changed."""
        merged = {**self.notify, **changes}
        if merged == self.notify:
            return False
        self._preferences_changed(notify=merged, timestamp=at)
        return True

    @event(PreferencesChanged)
    def _preferences_changed(self, notify: dict[str, bool], timestamp: datetime) -> None:
        self.notify = dict(notify)

    def choose_digest(self, frequency: DigestFrequency, head: int, at: datetime) -> bool:
        """Mail a digest hourly, daily, or not; False if nothing changed. Turned on, the first digest
        lists what arrives from now on (after `head`, the log's position now), at the end of the
        first period that begins after now; a change of frequency keeps what is not yet mailed."""
        if frequency == self.email_digest:
            return False
        after = head if self.email_digest == "off" else self.digest_after
        self._digest_chosen(
            frequency=frequency, after=after, period_done=digest_period(frequency, at), timestamp=at
        )
        return True

    @event(DigestChosen)
    def _digest_chosen(
        self, frequency: DigestFrequency, after: int, period_done: str | None, timestamp: datetime
    ) -> None:
        self.email_digest = frequency
        self.digest_after = after
        self.digest_period_done = period_done

    def digest_due(self, now: datetime) -> str | None:
        """The period whose digest is due by `now` and not yet queued (or skipped); None if none is."""
        period = digest_period(self.email_digest, now)
        if period is None or (self.digest_period_done is not None and period <= self.digest_period_done):
            return None
        return period

    def queue_digest(
        self, period: str, items: list[dict[str, Any]], more: int, up_to: int, at: datetime
    ) -> bool:
        """Queue the digest of `period` (once: False if it is not due), or skip it when `items` is empty."""
        if self.digest_due(at) != period:
            return False
        if items:
            self._digest_queued(period=period, items=items, more=more, up_to=up_to, timestamp=at)
        else:
            self._digest_skipped(period=period, up_to=up_to, timestamp=at)
        return True

    @event(DigestQueued)
    def _digest_queued(
        self, period: str, items: list[dict[str, Any]], more: int, up_to: int, timestamp: datetime
    ) -> None:
        self.digest_period_done = period
        self.digest_after = max(self.digest_after, up_to)

    @event(DigestSkipped)
    def _digest_skipped(self, period: str, up_to: int, timestamp: datetime) -> None:
        self.digest_period_done = period
        self.digest_after = max(self.digest_after, up_to)


__all__ = [
    "DEFAULT_NOTIFY",
    "DIGEST_FREQUENCIES",
    "DIGEST_MAX_ITEMS",
    "NOTIFICATION_KINDS",
    "NOTIFICATION_SUMMARIES",
    "DigestFrequency",
    "Inbox",
    "digest_period",
    "notification_summary",
]
