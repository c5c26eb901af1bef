"""Contacts (the people who ask for help) and how they sign in to the portal.

A contact is not an org member: it is known by its e-mail, once per org (its id derives from
both, so a second contact with the same address cannot be saved). A contact signs in with a
single-use link (`PortalLink`), which starts a session (`PortalSession`); both are known only
by the hash of their token, as API tokens are, so the store never holds a usable secret.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from tickets.domain.errors import DomainError
from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate


def normalize_email(email: str) -> str:
    """The form an address is compared in: helpdesks treat addresses case-insensitively."""
    return email.strip().lower()


def contact_id_for(org_id: UUID, email: str) -> UUID:
    """The id of an org's contact with this e-mail: the same address always names the same contact."""
    return uuid5(NAMESPACE, f"contact:{org_id}:{normalize_email(email)}")


class SignInLinkError(DomainError):
    """A sign-in link that was used already, has expired, or does not exist."""


class Contact(TypedAggregate):
    """An external requester of one org."""

    @staticmethod
    def create_id(org_id: UUID, email: str) -> UUID:
        return contact_id_for(org_id, email)

    class Created(Aggregate.Created):
        org_id: UUID
        email: str
        name: str
        actor_id: UUID | None

    class Renamed(Aggregate.Event):
        name: str
        actor_id: UUID | None

    class SignInRequested(Aggregate.Event):
        pass

    class SessionsRevoked(Aggregate.Event):
        actor_id: UUID | None

    @event(Created)
    def __init__(
        self, org_id: UUID, email: str, name: str, actor_id: UUID | None, timestamp: datetime
    ) -> None:
        self.org_id = org_id
        self.email = normalize_email(email)
        self.name = name
        # Sessions carry the epoch they began in; revoking every session moves it on.
        self.session_epoch = 0
        self.sign_in_requested_at: datetime | None = None

    def rename(self, name: str, actor_id: UUID | None, at: datetime) -> None:
        if name != self.name:
            self._renamed(name=name, actor_id=actor_id, timestamp=at)

    @event(Renamed)
    def _renamed(self, name: str, actor_id: UUID | None, timestamp: datetime) -> None:
        self.name = name

    @event(SignInRequested)
    def record_sign_in_request(self, timestamp: datetime) -> None:
        """The contact asked for a sign-in link at /portal/login (sent by the email channel)."""
        self.sign_in_requested_at = timestamp

    @event(SessionsRevoked)
    def revoke_sessions(self, actor_id: UUID | None, timestamp: datetime) -> None:
        """End every portal session the contact has now (an agent's or the contact's decision)."""
        self.session_epoch += 1


class PortalLink(TypedAggregate):
    """A single-use sign-in link for a contact, known by its token's hash."""

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        return uuid5(NAMESPACE, f"portal-link:{token_hash}")

    @event("Issued")
    def __init__(
        self,
        token_hash: str,
        org_id: UUID,
        contact_id: UUID,
        expires_at: datetime,
        issued_by: UUID | None,
        timestamp: datetime,
    ) -> None:
        self.token_hash = token_hash
        self.org_id = org_id
        self.contact_id = contact_id
        self.expires_at = expires_at
        self.issued_by = issued_by
        self.redeemed_at: datetime | None = None

    def redeem(self, at: datetime) -> None:
        """Use the link; a second use or a use after it expired is refused.

        Two servers opening the same link at once both try to save version 2: the store keeps one.
        """
        if self.redeemed_at is not None:
            raise SignInLinkError("this sign-in link has been used already")
        if at >= self.expires_at:
            raise SignInLinkError("this sign-in link has expired")
        self._redeemed(timestamp=at)

    @event("Redeemed")
    def _redeemed(self, timestamp: datetime) -> None:
        self.redeemed_at = timestamp


class PortalSession(TypedAggregate):
    """A contact's signed-in browser, known by its cookie's hash; it expires, and it can be ended."""

    @staticmethod
    def create_id(token_hash: str) -> UUID:
        return uuid5(NAMESPACE, f"portal-session:{token_hash}")

    @event("Started")
    def __init__(
        self,
        token_hash: str,
        org_id: UUID,
        contact_id: UUID,
        epoch: int,
        expires_at: datetime,
        timestamp: datetime,
    ) -> None:
        self.token_hash = token_hash
        self.org_id = org_id
        self.contact_id = contact_id
        self.epoch = epoch
        self.expires_at = expires_at
        self.ended = False

    def is_valid(self, now: datetime, contact: Contact) -> bool:
        """Open, not expired, and begun after the contact's sessions were last revoked."""
        return not self.ended and now < self.expires_at and self.epoch == contact.session_epoch

    def end(self, at: datetime) -> None:
        if not self.ended:
            self._ended(timestamp=at)

    @event("Ended")
    def _ended(self, timestamp: datetime) -> None:
        self.ended = True
