"""Contacts and their portal sign-in: the directory of requesters, links, sessions.

Members (agents, admins) manage contacts; viewers read them. A contact signs in to the portal
with a single-use link an agent issues (or the contact asks for by e-mail), which starts a
session. Links and sessions are stored only as the hash of their token; both expire, and a
session ends at sign-out or when the contact's sessions are revoked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.domain.contact import Contact, PortalLink, PortalSession, SignInLinkError, contact_id_for
from tickets.domain.errors import ConflictError, NotFoundError
from tickets.domain.registry import hash_token
from tickets.domain.values import Role
from tickets.infrastructure.clock import Clock, system_clock

LINK_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(days=14)


class KnownContact(Protocol):
    """What the contacts read model knows of a contact that has no aggregate yet."""

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...


# (org id, contact id) -> the contact as a ticket named it, if one did (tickets of older releases).
ContactIndex = Callable[[str, str], KnownContact | None]


def no_index(org_id: str, contact_id: str) -> KnownContact | None:
    return None


@dataclass(frozen=True)
class ContactActor:
    """A signed-in contact: the portal's caller."""

    contact_id: UUID
    org_id: UUID
    # The portal session it signed in with; None for a contact known by the mail it sent.
    session_id: UUID | None = None


@dataclass(frozen=True)
class IssuedLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class StartedSession:
    token: str
    contact_id: UUID
    expires_at: datetime


class ContactService:
    """The write side of contacts, and the portal's sign-in."""

    def __init__(
        self,
        app: TicketsApp,
        clock: Clock = system_clock,
        index: ContactIndex = no_index,
        link_lifetime: timedelta = LINK_LIFETIME,
        session_lifetime: timedelta = SESSION_LIFETIME,
    ) -> None:
        self.app = app
        self.clock = clock
        self.index = index
        self.link_lifetime = link_lifetime
        self.session_lifetime = session_lifetime

    # ------------------------------------------------------------------ loading

    def find(self, org_id: UUID, contact_id: UUID) -> Contact | None:
        """The contact, or None. A contact only a ticket's address named so far (tickets written
        before contacts existed) is made from what the read model knows, unsaved: the next write
        that needs it saves it."""
        try:
            contact: object = self.app.repository.get(contact_id)
        except AggregateNotFoundError:
            known = self.index(str(org_id), str(contact_id))
            if known is None or contact_id_for(org_id, known.email) != contact_id:
                return None
            return Contact(
                org_id=org_id, email=known.email, name=known.name, actor_id=None, timestamp=self.clock()
            )
        if not isinstance(contact, Contact) or contact.org_id != org_id:
            return None
        return contact

    def _load(self, org_id: UUID, contact_id: UUID) -> Contact:
        contact = self.find(org_id, contact_id)
        if contact is None:
            raise NotFoundError(f"contact {contact_id} not found")
        return contact

    def get(self, actor: Actor, contact_id: UUID) -> Contact:
        return self._load(actor.org_id, contact_id)

    def for_ticket(
        self, org_id: UUID, email: str, name: str | None, actor_id: UUID | None, at: datetime
    ) -> Contact:
        """The contact a ticket's address names, to save with the ticket: found, or new.

        Saving a contact that was loaded and not changed writes nothing, so callers always save it.
        """
        found = self.find(org_id, contact_id_for(org_id, email))
        return found or Contact(
            org_id=org_id, email=email, name=name or email.split("@")[0], actor_id=actor_id, timestamp=at
        )

    # ------------------------------------------------------------------ members' commands

    def create(self, actor: Actor, email: str, name: str) -> Saved[Contact]:
        """A new contact; its address must be new to the org."""
        actor.require(Role.AGENT)
        contact_id = contact_id_for(actor.org_id, email)

        def attempt() -> Saved[Contact]:
            if self.find(actor.org_id, contact_id) is not None:
                raise ConflictError(f"a contact with the e-mail {email.strip().lower()} exists: {contact_id}")
            contact = Contact(
                org_id=actor.org_id, email=email, name=name, actor_id=actor.user_id, timestamp=self.clock()
            )
            return Saved(contact, position_of(self.app.save(contact)))

        return retry_on_conflict(attempt)

    def rename(self, actor: Actor, contact_id: UUID, name: str) -> Saved[Contact]:
        actor.require(Role.AGENT)

        def attempt() -> Saved[Contact]:
            contact = self._load(actor.org_id, contact_id)
            contact.rename(name, actor.user_id, self.clock())
            return Saved(contact, position_of(self.app.save(contact)))

        return retry_on_conflict(attempt)

    def revoke_sessions(self, actor: Actor, contact_id: UUID) -> Saved[Contact]:
        """End every portal session of the contact (a lost laptop, a leaked link)."""
        actor.require(Role.AGENT)

        def attempt() -> Saved[Contact]:
            contact = self._load(actor.org_id, contact_id)
            contact.revoke_sessions(actor_id=actor.user_id, timestamp=self.clock())
            return Saved(contact, position_of(self.app.save(contact)))

        return retry_on_conflict(attempt)

    def issue_link(self, actor: Actor, contact_id: UUID) -> Saved[IssuedLink]:
        """A single-use sign-in link for the contact; the token is shown this once."""
        actor.require(Role.AGENT)
        token = secrets.token_urlsafe(32)

        def attempt() -> Saved[IssuedLink]:
            now = self.clock()
            contact = self._load(actor.org_id, contact_id)
            link = PortalLink(
                token_hash=hash_token(token),
                org_id=actor.org_id,
                contact_id=contact.id,
                expires_at=now + self.link_lifetime,
                issued_by=actor.user_id,
                timestamp=now,
            )
            # A contact known only from a ticket is saved now, with its first link (else: nothing to save).
            return Saved(IssuedLink(token, link.expires_at), position_of(self.app.save(contact, link)))

        return retry_on_conflict(attempt)

    def link_for_mail(
        self, org_id: UUID, contact_id: UUID, now: datetime
    ) -> tuple[IssuedLink, PortalLink] | None:
        """A sign-in link the contact asked for, to save and then mail (the token lives only in the mail)."""
        contact = self.find(org_id, contact_id)
        if contact is None:
            return None
        token = secrets.token_urlsafe(32)
        link = PortalLink(
            token_hash=hash_token(token),
            org_id=org_id,
            contact_id=contact.id,
            expires_at=now + self.link_lifetime,
            issued_by=None,
            timestamp=now,
        )
        return IssuedLink(token, link.expires_at), link

    # ------------------------------------------------------------------ the contact's sign-in

    def request_link(self, org_id: UUID, email: str) -> None:
        """A contact asks for a sign-in link at /portal/login: recorded when the address is known.

        The link itself goes out by e-mail (the email channel); the caller answers the same
        whether or not the address is known, so the answer tells nobody who is a contact.
        """

        def attempt() -> None:
            contact = self.find(org_id, contact_id_for(org_id, email))
            if contact is not None:
                contact.record_sign_in_request(timestamp=self.clock())
                self.app.save(contact)

        retry_on_conflict(attempt)

    def redeem_link(self, token: str) -> StartedSession:
        """Use a sign-in link: it is spent, and a session starts. `SignInLinkError` if it cannot."""
        session_token = secrets.token_urlsafe(32)

        def attempt() -> StartedSession:
            now = self.clock()
            try:
                link: object = self.app.repository.get(PortalLink.create_id(hash_token(token)))
            except AggregateNotFoundError:
                link = None
            if not isinstance(link, PortalLink):
                raise SignInLinkError("this sign-in link is not valid")
            link.redeem(now)
            contact = self._load(link.org_id, link.contact_id)
            session = PortalSession(
                token_hash=hash_token(session_token),
                org_id=link.org_id,
                contact_id=contact.id,
                epoch=contact.session_epoch,
                expires_at=now + self.session_lifetime,
                timestamp=now,
            )
            self.app.save(link, session)
            return StartedSession(session_token, contact.id, session.expires_at)

        return retry_on_conflict(attempt)

    def authenticate(self, session_token: str) -> ContactActor | None:
        """The contact a session cookie belongs to, if the session is still valid."""
        try:
            session: object = self.app.repository.get(PortalSession.create_id(hash_token(session_token)))
        except AggregateNotFoundError:
            return None
        if not isinstance(session, PortalSession):
            return None
        contact = self.find(session.org_id, session.contact_id)
        if contact is None or not session.is_valid(self.clock(), contact):
            return None
        return ContactActor(contact_id=contact.id, org_id=session.org_id, session_id=session.id)

    def end_session(self, contact: ContactActor) -> None:
        """Sign out: the session's cookie opens nothing any more."""

        if contact.session_id is None:
            return

        def attempt() -> None:
            assert contact.session_id is not None
            session: PortalSession = self.app.repository.get(contact.session_id)
            session.end(self.clock())
            self.app.save(session)

        retry_on_conflict(attempt)

    def contact(self, contact: ContactActor) -> Contact:
        return self._load(contact.org_id, contact.contact_id)


__all__ = [
    "ContactActor",
    "ContactIndex",
    "ContactService",
    "IssuedLink",
    "SignInLinkError",
    "StartedSession",
]
