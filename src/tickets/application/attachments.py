"""Attachments: files stored for a ticket, read back, and the bytes nobody can use any more swept.

The ticket decides what an attachment is (`Ticket.AttachmentAdded`, carried by a message, hidden with
it, discarded when unused for a day); the bytes live in a `BlobStore` under their SHA-256, and an
`AttachmentIndex` aggregate finds an attachment's ticket from its id alone.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic

from tickets.application.actors import Actor
from tickets.application.app import Saved, TicketsApp, position_of, retry_on_conflict
from tickets.application.tickets import StoredFile, TicketService
from tickets.domain.errors import InvalidValueError, NotFoundError, TooLargeError, UnsupportedFileTypeError
from tickets.domain.files import SNIFF_BYTES, content_type, refusal, safe_filename
from tickets.domain.registry import AttachmentIndex
from tickets.domain.ticket import Attachment, Ticket
from tickets.domain.values import Role
from tickets.infrastructure.blobs import CHUNK_BYTES, BlobStore
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.settings import AttachmentLimits

logger = logging.getLogger("tickets.attachments")

# A sweep leaves blobs stored within this time alone: an upload stores its bytes just before it
# records the attachment, and must not lose them in between.
SWEEP_GRACE = timedelta(hours=1)
_REGISTERED_TOPIC = get_topic(AttachmentIndex.Registered)
_SCAN_PAGE = 1000


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file as a client sent it: its name and declared type, and its bytes to read."""

    filename: str
    content_type: str | None
    data: IO[bytes]


@dataclass(frozen=True)
class _Checked:
    """An incoming file that passed every check, with what the ticket records of it."""

    file: IncomingFile
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class OpenedAttachment:
    """An attachment that can be read: its metadata, its ticket, whether a contact may see it, its bytes."""

    attachment: Attachment
    org_id: UUID
    ticket_id: UUID
    # Carried by a public message that is not deleted.
    public: bool
    blobs: BlobStore = field(repr=False)

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The bytes `start` up to (not including) `stop`, in chunks."""
        return self.blobs.read(self.attachment.sha256, start, stop)


@dataclass(frozen=True)
class SweepResult:
    """What a sweep removed (blob hashes) and how many older blobs it kept because they are in use."""

    removed: list[str]
    kept: int


class AttachmentService:
    """Stores files for tickets, opens them for readers, and sweeps bytes no live attachment uses."""

    def __init__(
        self,
        app: TicketsApp,
        tickets: TicketService,
        blobs: BlobStore,
        limits: AttachmentLimits,
        clock: Clock = system_clock,
    ) -> None:
        self.app = app
        self.tickets = tickets
        self.blobs = blobs
        self.limits = limits
        self.clock = clock

    # ------------------------------------------------------------------ who may

    @staticmethod
    def require_uploader(actor: Actor) -> None:
        """The one check of who may add files to a ticket of their org: agents and admins (the HTTP
        layer also asks it before reading an upload's body)."""
        actor.require(Role.AGENT)

    @staticmethod
    def _require_reader(actor: Actor, index: AttachmentIndex) -> None:
        """The one check of who may read an attachment: any member of the ticket's org (others are
        told it does not exist)."""
        if index.org_id != actor.org_id:
            raise NotFoundError(f"attachment {index.attachment_id} not found")

    # ------------------------------------------------------------------ upload

    def upload(self, actor: Actor, ref: str, files: Sequence[IncomingFile]) -> Saved[list[Attachment]]:
        """Store files for a ticket: one `AttachmentAdded` each (and its index), in one save.

        Every file is checked before anything is stored: too many or too large (`TooLargeError`),
        empty (`InvalidValueError`), a program, script or HTML (`UnsupportedFileTypeError`). Bytes
        already stored (the same SHA-256) are not stored again.
        """
        self.require_uploader(actor)
        ticket_id = self.tickets.get(actor, ref).id
        if not files:
            raise InvalidValueError("send at least one file")
        if len(files) > self.limits.max_files:
            raise TooLargeError(f"at most {self.limits.max_files} files per request; got {len(files)}")
        checked = [self._check(file) for file in files]
        attachment_ids = [uuid4() for _ in checked]
        stored = False

        def attempt() -> Saved[list[Attachment]]:
            nonlocal stored
            ticket = self.tickets.get(actor, str(ticket_id))
            now = self.clock()
            # The ticket's rules first (a closed ticket takes nothing), so refused files are not stored.
            added = [
                ticket.add_attachment(
                    attachment_id, c.filename, c.content_type, c.size, c.sha256, actor.user_id, now
                )
                for attachment_id, c in zip(attachment_ids, checked, strict=True)
            ]
            if not stored:
                for c in checked:
                    self._store(c, now)
                stored = True
            indexes = [
                AttachmentIndex(
                    org_id=ticket.org_id,
                    ticket_id=ticket.id,
                    attachment_id=a.id,
                    sha256=a.sha256,
                    timestamp=now,
                )
                for a in added
            ]
            return Saved(added, position_of(self.app.save(ticket, *indexes)))

        return retry_on_conflict(attempt)

    def store(self, files: Sequence[IncomingFile]) -> list[StoredFile]:
        """Check files and store their bytes, for a write that attaches them itself (a contact's reply
        in the portal: `TicketService.contact_reply`). Bytes stored for a write that then fails are
        removed by the sweep, as no attachment refers to them."""
        if len(files) > self.limits.max_files:
            raise TooLargeError(f"at most {self.limits.max_files} files per message; got {len(files)}")
        checked = [self._check(file) for file in files]
        now = self.clock()
        for c in checked:
            self._store(c, now)
        return [StoredFile(c.filename, c.content_type, c.size, c.sha256) for c in checked]

    def _check(self, file: IncomingFile) -> _Checked:
        filename = safe_filename(file.filename)
        media_type = content_type(file.content_type)
        digest = hashlib.sha256()
        head = b""
        size = 0
        file.data.seek(0)
        while chunk := file.data.read(CHUNK_BYTES):
            size += len(chunk)
            if size > self.limits.max_file_bytes:
                raise TooLargeError(
                    f"{filename} is larger than {self.limits.max_file_bytes} bytes, the limit per file"
                )
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
        if size == 0:
            raise InvalidValueError(f"{filename} is empty")
        reason = refusal(filename, media_type, head)
        if reason is not None:
            raise UnsupportedFileTypeError(f"{filename}: {reason}")
        return _Checked(file, filename, media_type, size, digest.hexdigest())

    def _store(self, checked: _Checked, now: datetime) -> None:
        checked.file.data.seek(0)
        sha256 = self.blobs.put(checked.file.data.read(), now)
        if sha256 != checked.sha256:  # the file changed after it was checked: store nothing of it
            raise InvalidValueError(f"{checked.filename} changed while it was uploaded")

    # ------------------------------------------------------------------ download

    def open(self, actor: Actor, attachment_id: UUID) -> OpenedAttachment:
        """An attachment the actor may read, with its bytes; `NotFoundError` when there is none: not
        in their org, discarded (unused for a day), hidden with its deleted message or ticket."""
        index = self._index(attachment_id)
        self._require_reader(actor, index)
        # Through the ticket service, so every rule of who reads a ticket holds here too (its org, a
        # private team, a token scoped to another ticket, a deleted ticket).
        try:
            ticket = self.tickets.get(actor, str(index.ticket_id))
        except NotFoundError:
            raise NotFoundError(f"attachment {attachment_id} not found") from None
        attachment = ticket.live_attachment(attachment_id, self.clock())
        if self.blobs.size(attachment.sha256) is None:
            # The log says the bytes exist: this is the store's fault, not the client's.
            logger.error(
                "the bytes of attachment %s (sha256 %s) are missing", attachment_id, attachment.sha256
            )
            raise NotFoundError(f"the bytes of attachment {attachment_id} are missing")
        return OpenedAttachment(
            attachment=attachment,
            org_id=ticket.org_id,
            ticket_id=ticket.id,
            public=ticket.is_public(attachment),
            blobs=self.blobs,
        )

    def _index(self, attachment_id: UUID) -> AttachmentIndex:
        try:
            index: AttachmentIndex = self.app.repository.get(AttachmentIndex.create_id(attachment_id))
        except AggregateNotFoundError:
            raise NotFoundError(f"attachment {attachment_id} not found") from None
        return index

    # ------------------------------------------------------------------ sweep

    def sweep(self) -> SweepResult:
        """Remove the bytes that no live attachment refers to (`Ticket.is_live`), among the blobs
        stored more than `SWEEP_GRACE` ago. Reads every attachment registration in the log once."""
        now = self.clock()
        cutoff = now - SWEEP_GRACE
        candidates = set(self.blobs.stored_before(cutoff))
        if not candidates:
            return SweepResult(removed=[], kept=0)
        tickets = {r.ticket_id for r in self._registrations() if r.sha256 in candidates}
        live: set[str] = set()
        for ticket_id in tickets:
            ticket: Ticket = self.app.repository.get(ticket_id)
            live.update(a.sha256 for a in ticket.live_attachments(now))
        removed = self.blobs.remove(sorted(candidates - live), stored_before=cutoff)
        logger.info(
            "attachment sweep removed %d blob(s), kept %d", len(removed), len(candidates) - len(removed)
        )
        return SweepResult(removed=removed, kept=len(candidates) - len(removed))

    def _registrations(self) -> Iterator[AttachmentIndex.Registered]:
        start = 1
        while True:
            page = self.app.recorder.select_notifications(start, _SCAN_PAGE, topics=[_REGISTERED_TOPIC])
            for notification in page:
                yield cast("AttachmentIndex.Registered", self.app.mapper.to_domain_event(notification))
            if len(page) < _SCAN_PAGE:
                return
            start = page[-1].id + 1
