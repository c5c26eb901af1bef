"""A member's inbox: what they have read, and what they want to be told of.

The notifications themselves are a read model built from the log (`projections/inbox.py`): being
assigned, @-mentioned, a contact's reply on one's ticket, an SLA breach on it or one about to
happen, a linked issue done.
What the member does with them is theirs, and is recorded here: items read, everything read up to a
point, and which kinds they want at all (from when they say so).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
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


class Inbox(TypedAggregate):
    """One member's inbox settings and reading."""

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

    @event(Opened)
    def __init__(self, org_id: UUID, user_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.user_id = user_id
        self.notify: dict[str, bool] = dict(DEFAULT_NOTIFY)

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


__all__ = ["DEFAULT_NOTIFY", "NOTIFICATION_KINDS", "Inbox"]
