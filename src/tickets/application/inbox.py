"""A member's inbox: marking notifications read, and choosing which kinds to get."""

from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.domain.errors import InvalidValueError
from tickets.domain.inbox import NOTIFICATION_KINDS, Inbox
from tickets.infrastructure.clock import Clock, system_clock


class InboxService:
    def __init__(self, app: TicketsApp, clock: Clock = system_clock) -> None:
        self.app = app
        self.clock = clock

    def _inbox(self, actor: Actor) -> Inbox:
        try:
            inbox: Inbox = self.app.repository.get(Inbox.create_id(actor.org_id, actor.user_id))
        except AggregateNotFoundError:
            inbox = Inbox(org_id=actor.org_id, user_id=actor.user_id, timestamp=self.clock())
        return inbox

    def notify(self, actor: Actor) -> dict[str, bool]:
        """Which kinds of notification the member gets."""
        return dict(self._inbox(actor).notify)

    def read(self, actor: Actor, item_ids: list[str]) -> Saved[None]:
        def attempt() -> Saved[None]:
            inbox = self._inbox(actor)
            inbox.read(item_ids=item_ids, timestamp=self.clock())
            return Saved(None, position_of(self.app.save(inbox)))

        return retry_on_conflict(attempt)

    def read_all(self, actor: Actor) -> Saved[None]:
        """Everything in the inbox up to now (the head of the log) is read."""

        def attempt() -> Saved[None]:
            inbox = self._inbox(actor)
            inbox.read_all(up_to=self.app.head_position(), timestamp=self.clock())
            return Saved(None, position_of(self.app.save(inbox)))

        return retry_on_conflict(attempt)

    def set_notify(self, actor: Actor, changes: dict[str, bool]) -> Saved[dict[str, bool]]:
        unknown = sorted(set(changes) - set(NOTIFICATION_KINDS))
        if unknown:
            raise InvalidValueError(
                f"notify: unknown kinds {', '.join(unknown)}; choose from {', '.join(NOTIFICATION_KINDS)}"
            )

        def attempt() -> Saved[dict[str, bool]]:
            inbox = self._inbox(actor)
            inbox.set_notify(changes, self.clock())
            return Saved(dict(inbox.notify), position_of(self.app.save(inbox)))

        return retry_on_conflict(attempt)


__all__ = ["InboxService"]
