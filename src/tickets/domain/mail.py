"""The email channel's aggregates: each mail sent, each mail received, each extra address.

All three have ids derived from a natural key, so the store's unique key makes each exist once:
a mail is claimed for sending by one server at a time, a received `Message-ID` makes one ticket
or message, an address routes to one org.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.leases import attempt_due
from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate

# A claim lasts this long: a server that dies while sending leaves the mail to another after it.
SEND_LEASE = timedelta(minutes=5)
# Attempts before a mail is given up: 1, 2, 4, ... minutes apart, at most an hour (about 4 hours in all).
MAX_ATTEMPTS = 8


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt `attempt` (1-based) before the next."""
    return min(timedelta(minutes=2 ** (attempt - 1)), timedelta(hours=1))


def normalize_address(address: str) -> str:
    return address.strip().lower()


MailState = Literal["sending", "retrying", "sent", "failed"]


class OutgoingMail(TypedAggregate):
    """One mail to send, named by what caused it (`key`: the queueing event), and its attempts."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE, f"outgoing-mail:{key}")

    class Claimed(Aggregate.Created):
        key: str
        org_id: UUID
        kind: str
        lease_until: datetime

    class Reclaimed(Aggregate.Event):
        lease_until: datetime

    class Sent(Aggregate.Event):
        mail_message_id: str

    class Failed(Aggregate.Event):
        error: str
        retry_at: datetime | None

    @event(Claimed)
    def __init__(self, key: str, org_id: UUID, kind: str, lease_until: datetime, timestamp: datetime) -> None:
        self.key = key
        self.org_id = org_id
        self.kind = kind
        self.state: MailState = "sending"
        self.attempts = 1
        self.lease_until = lease_until
        self.retry_at: datetime | None = None
        self.mail_message_id: str | None = None
        self.last_error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("sent", "failed")

    def claim(self, now: datetime, lease: timedelta = SEND_LEASE) -> bool:
        """Take the next attempt, unless it is finished, another server holds it, or its retry is not due."""
        if self.finished or not attempt_due(self.state, "sending", self.lease_until, self.retry_at, now):
            return False
        self._reclaimed(lease_until=now + lease, timestamp=now)
        return True

    @event(Reclaimed)
    def _reclaimed(self, lease_until: datetime, timestamp: datetime) -> None:
        self.state = "sending"
        self.attempts += 1
        self.lease_until = lease_until

    @event(Sent)
    def sent(self, mail_message_id: str, timestamp: datetime) -> None:
        self.state = "sent"
        self.mail_message_id = mail_message_id

    def fail(self, error: str, now: datetime, give_up: bool = False) -> bool:
        """Record a failed attempt; returns whether it was the last (retries run out, or `give_up`)."""
        final = give_up or self.attempts >= MAX_ATTEMPTS
        self._failed(
            error=error[:500], retry_at=None if final else now + retry_delay(self.attempts), timestamp=now
        )
        return final

    @event(Failed)
    def _failed(self, error: str, retry_at: datetime | None, timestamp: datetime) -> None:
        self.state = "failed" if retry_at is None else "retrying"
        self.retry_at = retry_at
        self.last_error = error


class ReceivedMail(TypedAggregate):
    """A mail the intake took, by its `Message-ID` in the receiving org: what it became."""

    @staticmethod
    def create_id(org_id: UUID, mail_message_id: str) -> UUID:
        return uuid5(NAMESPACE, f"received-mail:{org_id}:{mail_message_id.strip().lower()}")

    @event("Received")
    def __init__(
        self,
        org_id: UUID,
        mail_message_id: str,
        ticket_id: UUID,
        message_id: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.org_id = org_id
        self.mail_message_id = mail_message_id
        self.ticket_id = ticket_id
        self.message_id = message_id


class MailAddress(TypedAggregate):
    """An extra address an org receives mail at (besides `<slug>@<mail domain>`): held by one org at a time."""

    @staticmethod
    def create_id(address: str) -> UUID:
        return uuid5(NAMESPACE, f"mail-address:{normalize_address(address)}")

    @event("Claimed")
    def __init__(self, address: str, org_id: UUID, team_id: UUID | None, timestamp: datetime) -> None:
        self.address = normalize_address(address)
        self.org_id = org_id
        self.team_id = team_id
        self.active = True

    @event("Reclaimed")
    def reclaim(self, org_id: UUID, team_id: UUID | None, timestamp: datetime) -> None:
        self.org_id = org_id
        self.team_id = team_id
        self.active = True

    @event("Released")
    def release(self, timestamp: datetime) -> None:
        self.active = False


__all__ = [
    "MAX_ATTEMPTS",
    "SEND_LEASE",
    "MailAddress",
    "OutgoingMail",
    "ReceivedMail",
    "normalize_address",
    "retry_delay",
]
