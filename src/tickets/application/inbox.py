"""A member's inbox: marking notifications read, choosing which kinds to get and an e-mail digest."""

from __future__ import annotations

from typing import NamedTuple

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.domain.errors import InvalidValueError
from tickets.domain.inbox import DIGEST_FREQUENCIES, NOTIFICATION_KINDS, DigestFrequency, Inbox
from tickets.infrastructure.clock import Clock, system_clock


class Preferences(NamedTuple):
    """Which kinds of notification reach the inbox, and how often unread ones are mailed."""

    notify: dict[str, bool]
    email_digest: DigestFrequency


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

    def preferences(self, actor: Actor) -> Preferences:
        inbox = self._inbox(actor)
        return Preferences(dict(inbox.notify), inbox.email_digest)

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

    def set_preferences(
        self, actor: Actor, notify: dict[str, bool], email_digest: DigestFrequency | None = None
    ) -> Saved[Preferences]:
        """Turn kinds of notification on or off, and choose the e-mail digest (None: keep it), in one save."""
        unknown = sorted(set(notify) - set(NOTIFICATION_KINDS))
        if unknown:
            raise InvalidValueError(
                f"notify: unknown kinds {', '.join(unknown)}; choose from {', '.join(NOTIFICATION_KINDS)}"
            )
        if email_digest is not None and email_digest not in DIGEST_FREQUENCIES:
            raise InvalidValueError(f"emailDigest: choose from {', '.join(DIGEST_FREQUENCIES)}")

        def attempt() -> Saved[Preferences]:
            inbox = self._inbox(actor)
            now = self.clock()
            inbox.set_notify(notify, now)
            if email_digest is not None:
                inbox.choose_digest(email_digest, self.app.head_position(), now)
            preferences = Preferences(dict(inbox.notify), inbox.email_digest)
            return Saved(preferences, position_of(self.app.save(inbox)))

        return retry_on_conflict(attempt)


__all__ = ["InboxService", "Preferences"]
