"""Small aggregates with derived ids: lookups and counters kept in the event store.

An aggregate whose id is derived from a natural key (a slug, a token hash, an org's
ticket number) can exist only once: saving a second one fails on the store's unique
(id, version) key. That is how slugs, tokens and ticket numbers stay unique without a
second database next to the event store.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.snapshots import TypedAggregate

NAMESPACE = UUID("6f1c8a52-4f6e-4d0e-9a55-2b7d1f0c9e11")


def hash_token(token: str) -> str:
    """The SHA-256 of an API token: the only form in which tokens are stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class OrgSlug(TypedAggregate):
    """Maps an org's slug to its id."""

    @staticmethod
    def create_id(slug: str) -> UUID:
        return uuid5(NAMESPACE, f"org-slug:{slug}")

    @event("Registered")
    def __init__(self, slug: str, org_id: UUID, timestamp: datetime) -> None:
        self.slug = slug
        self.org_id = org_id


class ApiToken(TypedAggregate):
    """An API token, known only by its hash, and whose it is.

    A token may be scoped to one ticket (`ticket_id`) and expire (`expires_at`): an agent's
    dispatch token works on that ticket only, until it expires or the dispatch completes. A token
    with `scopes` (an integration's, e.g. `events:read`) opens only what those scopes name.
    """

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        return uuid5(NAMESPACE, f"api-token:{token_hash}")

    @classmethod
    def id_for(cls, token: str) -> UUID:
        return cls.create_id(hash_token(token))

    class Issued(Aggregate.Created):
        """Version 2 added the ticket scope and the expiry (version-1 tokens are org-wide and never
        expire); version 3 the scopes (earlier tokens have none: a member's full token)."""

        class_version = 3
        token_hash: str
        org_id: UUID
        user_id: UUID
        ticket_id: UUID | None
        expires_at: datetime | None
        scopes: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["ticket_id"] = None
            state["expires_at"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["scopes"] = []

    @event(Issued)
    def __init__(
        self,
        token_hash: str,
        org_id: UUID,
        user_id: UUID,
        timestamp: datetime,
        ticket_id: UUID | None = None,
        expires_at: datetime | None = None,
        scopes: list[str] | None = None,
    ) -> None:
        self.token_hash = token_hash
        self.org_id = org_id
        self.user_id = user_id
        self.ticket_id = ticket_id
        self.expires_at = expires_at
        self.scopes: list[str] = list(scopes or [])
        self.revoked = False

    def usable_at(self, now: datetime) -> bool:
        """Not revoked, and not expired at `now`."""
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    @event("Revoked")
    def revoke(self, timestamp: datetime) -> None:
        self.revoked = True


# What an integration token may be scoped to: the routes each opens (see `api/dependencies.py`).
TOKEN_SCOPES = ("events:read",)


class TicketCounter(TypedAggregate):
    """Issues an org's ticket numbers: 1, 2, 3, ... saved with the ticket, so gap-free."""

    @staticmethod
    def create_id(org_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"ticket-counter:{org_id}")

    @event("Started")
    def __init__(self, org_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.last_number = 0

    def next_number(self, ticket_id: UUID, at: datetime) -> int:
        self._number_issued(number=self.last_number + 1, ticket_id=ticket_id, timestamp=at)
        return self.last_number

    @event("NumberIssued")
    def _number_issued(self, number: int, ticket_id: UUID, timestamp: datetime) -> None:
        self.last_number = number


class TicketNumber(TypedAggregate):
    """Maps an org's ticket number to the ticket's id."""

    @staticmethod
    def create_id(org_id: UUID, number: int) -> UUID:
        return uuid5(NAMESPACE, f"ticket-number:{org_id}:{number}")

    @event("Registered")
    def __init__(self, org_id: UUID, number: int, ticket_id: UUID, timestamp: datetime) -> None:
        self.org_id = org_id
        self.number = number
        self.ticket_id = ticket_id


class AttachmentIndex(TypedAggregate):
    """Maps an attachment's id to its org and ticket, for `GET /attachments/{id}`.

    Saved with the ticket's `AttachmentAdded`, in one transaction. Whether the attachment can be read
    is the ticket's to say (`Ticket.live_attachment`); the index only finds the ticket.
    """

    @staticmethod
    def create_id(attachment_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"attachment:{attachment_id}")

    class Registered(Aggregate.Created):
        # Declared (not only named) so that the sweep can read registrations from the log by type.
        org_id: UUID
        ticket_id: UUID
        attachment_id: UUID
        sha256: str

    @event(Registered)
    def __init__(
        self, org_id: UUID, ticket_id: UUID, attachment_id: UUID, sha256: str, timestamp: datetime
    ) -> None:
        self.org_id = org_id
        self.ticket_id = ticket_id
        self.attachment_id = attachment_id
        self.sha256 = sha256
