"""Attachments on the in-memory store: what a ticket takes, what a message may carry, what can be read."""

from __future__ import annotations

import io
from uuid import uuid4

import pytest

from tests.unit.conftest import Desk
from tickets.application.attachments import IncomingFile
from tickets.bootstrap import wire
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidValueError,
    NotFoundError,
    TooLargeError,
    UnsupportedFileTypeError,
)
from tickets.domain.ticket import Ticket
from tickets.domain.values import Status
from tickets.infrastructure.blobs import MemoryBlobStore, sha256_of
from tickets.infrastructure.settings import AttachmentLimits


def file(
    name: str = "notes.txt", data: bytes = b"some notes", media_type: str = "text/plain"
) -> IncomingFile:
    return IncomingFile(name, media_type, io.BytesIO(data))


def blobs_of(desk: Desk) -> MemoryBlobStore:
    store = desk.attachments.blobs
    assert isinstance(store, MemoryBlobStore)
    return store


@pytest.fixture
def ticket(desk: Desk) -> Ticket:
    return desk.tickets.create(desk.agent, NewTicket(subject="Printer on fire")).value


def test_an_upload_records_metadata_and_stores_the_bytes_by_hash(desk: Desk, ticket: Ticket) -> None:
    saved = desk.attachments.upload(desk.agent, "1", [file("a.txt", b"alpha"), file("b.txt", b"beta")])
    assert [(a.filename, a.size, a.sha256) for a in saved.value] == [
        ("a.txt", 5, sha256_of(b"alpha")),
        ("b.txt", 4, sha256_of(b"beta")),
    ]
    events = list(desk.app.events.get(ticket.id))
    added = [e for e in events if isinstance(e, Ticket.AttachmentAdded)]
    assert [(e.filename, e.content_type, e.size, e.sha256) for e in added] == [
        ("a.txt", "text/plain", 5, sha256_of(b"alpha")),
        ("b.txt", "text/plain", 4, sha256_of(b"beta")),
    ]
    assert not any(b"alpha" in repr(vars(e)).encode() for e in events)  # metadata only, never bytes
    opened = desk.attachments.open(desk.viewer, saved.value[0].id)
    assert b"".join(opened.read()) == b"alpha"
    assert b"".join(opened.read(1, 3)) == b"lp"


def test_the_same_bytes_are_stored_once(desk: Desk, ticket: Ticket) -> None:
    first = desk.attachments.upload(desk.agent, "1", [file("a.txt", b"same")]).value[0]
    second = desk.attachments.upload(desk.agent, "1", [file("b.txt", b"same")]).value[0]
    assert first.id != second.id and first.sha256 == second.sha256
    assert blobs_of(desk).stored_before(desk.clock().replace(year=3000)) == [first.sha256]


def test_a_message_carries_attachments_once(desk: Desk, ticket: Ticket) -> None:
    a, b = desk.attachments.upload(desk.agent, "1", [file("a.txt", b"a"), file("b.txt", b"b")]).value
    message = desk.tickets.add_message(desk.agent, "1", "see both", False, [a.id, b.id, a.id]).value
    assert [(x.id, x.filename, x.sha256, x.message_id) for x in message.attachments] == [
        (a.id, "a.txt", a.sha256, message.id),
        (b.id, "b.txt", b.sha256, message.id),
    ]
    event = [e for e in desk.app.events.get(ticket.id) if isinstance(e, Ticket.MessageAdded)][-1]
    assert [x["sha256"] for x in event.attachments] == [a.sha256, b.sha256]
    with pytest.raises(ConflictError, match="already attached"):
        desk.tickets.add_message(desk.agent, "1", "again", True, [a.id])


def test_a_message_takes_only_this_tickets_unused_attachments(desk: Desk, ticket: Ticket) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="Other"))
    elsewhere = desk.attachments.upload(desk.agent, "2", [file()]).value[0]
    for wrong in (uuid4(), elsewhere.id):
        with pytest.raises(InvalidValueError, match="not an attachment of ticket #1"):
            desk.tickets.add_message(desk.agent, "1", "x", False, [wrong])
    assert desk.tickets.get(desk.agent, "1").message_count == 0


def test_an_attachment_unused_for_a_day_is_discarded(desk: Desk, ticket: Ticket) -> None:
    kept, dropped = desk.attachments.upload(desk.agent, "1", [file("k.txt", b"k"), file("d.txt", b"d")]).value
    desk.clock.advance(hours=24)
    desk.tickets.add_message(desk.agent, "1", "just in time", False, [kept.id])
    desk.clock.advance(seconds=1)
    with pytest.raises(InvalidValueError, match="not used within 24 hours"):
        desk.tickets.add_message(desk.agent, "1", "too late", False, [dropped.id])
    with pytest.raises(NotFoundError):
        desk.attachments.open(desk.agent, dropped.id)
    assert b"".join(desk.attachments.open(desk.agent, kept.id).read()) == b"k"  # used: kept for good


def test_deleting_a_message_hides_its_attachments(desk: Desk, ticket: Ticket) -> None:
    (attachment,) = desk.attachments.upload(desk.agent, "1", [file()]).value
    message = desk.tickets.add_message(desk.agent, "1", "here", False, [attachment.id]).value
    assert desk.attachments.open(desk.agent, attachment.id).public
    desk.tickets.delete_message(desk.agent, "1", message.id)
    with pytest.raises(NotFoundError):
        desk.attachments.open(desk.agent, attachment.id)


def test_public_means_on_a_public_message_that_is_not_deleted(desk: Desk, ticket: Ticket) -> None:
    waiting, noted, replied = desk.attachments.upload(
        desk.agent, "1", [file("w.txt", b"w"), file("n.txt", b"n"), file("r.txt", b"r")]
    ).value
    desk.tickets.add_message(desk.agent, "1", "internal", True, [noted.id])
    desk.tickets.add_message(desk.agent, "1", "public", False, [replied.id])
    assert [desk.attachments.open(desk.agent, a.id).public for a in (waiting, noted, replied)] == [
        False,
        False,
        True,
    ]


def test_another_org_cannot_read_an_attachment(desk: Desk, ticket: Ticket) -> None:
    (attachment,) = desk.attachments.upload(desk.agent, "1", [file()]).value
    other = desk.directory.authenticate(desk.directory.create_org("globex", "Globex", "g@globex.test").token)
    assert other is not None
    with pytest.raises(NotFoundError):
        desk.attachments.open(other, attachment.id)
    with pytest.raises(NotFoundError):
        desk.attachments.upload(other, str(ticket.id), [file()])


def test_refused_uploads_record_and_store_nothing(desk: Desk, ticket: Ticket) -> None:
    head = desk.app.head_position()
    refusals = [
        (desk.viewer, [file()], ForbiddenError),
        (desk.agent, [file("empty.txt", b"")], InvalidValueError),
        (desk.agent, [file(), file("run.exe", b"hello")], UnsupportedFileTypeError),
        (desk.agent, [file("a.png", b"MZ\x90\x00", "image/png")], UnsupportedFileTypeError),
    ]
    for actor, files, error in refusals:
        with pytest.raises(error):
            desk.attachments.upload(actor, "1", files)
    desk.tickets.update(desk.agent, "1", TicketChanges(status=Status.CLOSED))
    closed_at = desk.app.head_position()
    with pytest.raises(ConflictError):
        desk.attachments.upload(desk.agent, "1", [file()])
    assert desk.app.head_position() == closed_at == head + 1
    assert blobs_of(desk).stored_before(desk.clock().replace(year=3000)) == []


def test_the_limits_are_the_settings(desk: Desk) -> None:
    limits = AttachmentLimits(max_file_bytes=4, max_files=2)
    services = wire(desk.app, desk.clock, attachment_limits=limits)
    services.tickets.create(desk.agent, NewTicket(subject="s"))
    with pytest.raises(TooLargeError, match="at most 2 files"):
        services.attachments.upload(desk.agent, "1", [file("a", b"a"), file("b", b"b"), file("c", b"c")])
    with pytest.raises(TooLargeError, match="larger than 4 bytes"):
        services.attachments.upload(desk.agent, "1", [file("big.txt", b"12345")])
    ids = [a.id for a in services.attachments.upload(desk.agent, "1", [file("a", b"1234")]).value]
    with pytest.raises(TooLargeError, match="at most 2 attachments"):
        services.tickets.add_message(desk.agent, "1", "x", False, [*ids, uuid4(), uuid4()])


def test_the_sweep_removes_only_bytes_no_live_attachment_uses(desk: Desk, ticket: Ticket) -> None:
    upload = desk.attachments.upload
    used, unused, on_deleted, shared_used, shared_unused = (
        upload(desk.agent, "1", [file(name, data)]).value[0]
        for name, data in (
            ("used.txt", b"used"),
            ("unused.txt", b"unused"),
            ("deleted.txt", b"on a deleted message"),
            ("shared1.txt", b"shared"),
            ("shared2.txt", b"shared"),
        )
    )
    desk.tickets.add_message(desk.agent, "1", "kept", False, [used.id, shared_used.id])
    doomed = desk.tickets.add_message(desk.agent, "1", "deleted", False, [on_deleted.id]).value
    desk.tickets.delete_message(desk.agent, "1", doomed.id)
    assert desk.attachments.sweep().removed == []  # nothing is older than the grace period yet
    desk.clock.advance(hours=25)
    result = desk.attachments.sweep()
    assert sorted(result.removed) == sorted([unused.sha256, on_deleted.sha256])
    assert result.kept == 2
    assert b"".join(desk.attachments.open(desk.agent, shared_used.id).read()) == b"shared"
    with pytest.raises(NotFoundError):  # discarded, though its bytes stay for the other
        desk.attachments.open(desk.agent, shared_unused.id)
    assert desk.attachments.sweep().removed == []
