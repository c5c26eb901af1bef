"""Unit tests run the domain and services on the library's in-memory store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.bootstrap import in_memory, wire
from tickets.infrastructure.clock import ManualClock


class Desk:
    """An in-memory service desk: one org with an admin, an agent and a viewer."""

    def __init__(self, clock: ManualClock, app: TicketsApp | None = None) -> None:
        self.clock = clock
        services = wire(app, clock) if app is not None else in_memory(clock)
        self.app, self.directory, self.tickets = services.app, services.directory, services.tickets
        self.attachments = services.attachments
        created = self.directory.create_org("acme", "Acme", "ada@acme.test", "Ada")
        self.admin = self._actor(created.token)
        self.agent = self._member("bob@acme.test", "Bob", "agent")
        self.viewer = self._member("vic@acme.test", "Vic", "viewer")

    def reopen(self, app: TicketsApp) -> None:
        """Serve from `app` (a restart: a new application on the same store); actors stay valid."""
        services = wire(app, self.clock, blobs=self.attachments.blobs)
        self.app, self.directory, self.tickets = services.app, services.directory, services.tickets
        self.attachments = services.attachments

    def _actor(self, token: str) -> Actor:
        actor = self.directory.authenticate(token)
        assert actor is not None
        return actor

    def _member(self, email: str, name: str, role: str) -> Actor:
        from tickets.domain.values import Role

        created = self.directory.create_user(self.admin.org_id, email, name, Role(role))
        return self._actor(created.token)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def desk(clock: ManualClock) -> Iterator[Desk]:
    built = Desk(clock)
    yield built
    built.app.close()
