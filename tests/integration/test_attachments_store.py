"""Attachments in the event store: snapshots keep them exactly, and the previous release's messages load."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from tests.conftest import Org
from tests.integration.test_release_store import FIXTURES, RELEASE
from tests.integration.test_snapshots import replayed
from tests.state import aggregate_state
from tickets.application.attachments import IncomingFile
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket
from tickets.domain.registry import AttachmentIndex
from tickets.domain.ticket import Ticket
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings


def test_a_ticket_with_attachments_round_trips_through_its_snapshot(
    services: Services, org: Org, database_url: str, clock: ManualClock
) -> None:
    admin = services.directory.authenticate(org.admin.token)
    assert admin is not None
    services.tickets.create(admin, NewTicket(subject="snap"))
    used, waiting = services.attachments.upload(
        admin,
        "1",
        [
            IncomingFile("a.txt", "text/plain", io.BytesIO(b"a")),
            IncomingFile("b.txt", None, io.BytesIO(b"b")),
        ],
    ).value
    message = services.tickets.add_message(admin, "1", "with a file", False, [used.id]).value
    ticket_id = services.tickets.get(admin, "1").id
    services.app.take_snapshot(ticket_id)

    restarted = build_services(Settings(database_url), clock=clock)
    try:
        assert list(restarted.app.snapshots.get(ticket_id))
        from_snapshot: Ticket = restarted.app.repository.get(ticket_id)
        assert aggregate_state(from_snapshot) == aggregate_state(replayed(restarted.app, ticket_id))
        assert from_snapshot.messages[str(message.id)].attachments == (
            from_snapshot.attachments[str(used.id)],
        )
        assert from_snapshot.attachments[str(waiting.id)].content_type == "application/octet-stream"
        index: AttachmentIndex = restarted.app.repository.get(AttachmentIndex.create_id(used.id))
        assert (index.org_id, index.ticket_id, index.sha256) == (admin.org_id, ticket_id, used.sha256)
        assert b"".join(restarted.attachments.open(admin, used.id).read()) == b"a"
    finally:
        restarted.close()


def test_the_previous_releases_messages_load_without_attachments_and_take_new_ones(tmp_path: Path) -> None:
    store = tmp_path / "tickets.db"
    shutil.copy(FIXTURES / "release-0.1.sqlite", store)
    services = build_services(Settings(f"sqlite:///{store}"), clock=ManualClock())
    try:
        admin = services.directory.authenticate(RELEASE["admin_token"])
        assert admin is not None
        ticket = services.tickets.get(admin, "2")
        assert ticket.messages and all(m.attachments == () for m in ticket.messages.values())
        (attachment,) = services.attachments.upload(
            admin, "2", [IncomingFile("log.txt", "text/plain", io.BytesIO(b"log"))]
        ).value
        services.tickets.add_message(admin, "2", "the log", False, [attachment.id])
        reloaded = replayed(services.app, ticket.id)
        assert [m.attachments for m in reloaded.messages.values()][-1] == (
            reloaded.attachments[str(attachment.id)],
        )
    finally:
        services.close()
