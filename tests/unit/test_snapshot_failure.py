"""A snapshot is taken after its save has committed: failing to take one must not turn the
committed save (and every command of its group) into an error."""

from __future__ import annotations

from typing import Any

import pytest

from tickets.application.actors import Actor
from tickets.bootstrap import in_memory
from tickets.domain.commands import NewTicket
from tickets.domain.ticket import Ticket


def test_a_failed_snapshot_leaves_the_saved_commands_answered_and_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = in_memory()
    created = services.directory.create_org("acme", "Acme", "ada@acme.test")
    actor = services.directory.authenticate(created.token)
    assert isinstance(actor, Actor)
    ticket = services.tickets.create(actor, NewTicket(subject="Printer")).value

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the snapshot store is down")

    monkeypatch.setattr(services.app.snapshots, "put", refuse)
    # Past the 50th event, where the library takes the ticket's snapshot.
    for n in range(55):
        saved = services.tickets.add_message(actor, str(ticket.id), f"message {n}", False)
        assert saved.position is not None
    reloaded = services.app.repository.get(ticket.id)
    assert isinstance(reloaded, Ticket) and reloaded.message_count == 55
    assert list(services.app.snapshots.get(ticket.id)) == []  # none was stored: loading replays
    assert [e.originator_version for e in services.app.events.get(ticket.id)][-1] == reloaded.version
