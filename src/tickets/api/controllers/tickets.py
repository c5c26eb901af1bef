"""Tickets, their thread and their timeline."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody

from tickets.api import presenters, schemas
from tickets.api.controllers.common import (
    AsOf,
    Cursor,
    IfMatch,
    IncludeDeleted,
    Limit,
    Version,
    check_as_of,
    etag,
    parse_if_match,
    written,
)
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.application.actors import Actor
from tickets.bootstrap import Services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket

# JSON Lines: one JSON object per line (https://jsonlines.org).
EVENTS_MEDIA_TYPE = "application/jsonl"


class TicketController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    def _out(
        self, services: Services, actor: Actor, ticket: Ticket, org: Organization | None = None
    ) -> schemas.TicketOut:
        """The ticket as the API shows it, with the org a command checked it against if it has it."""
        return presenters.ticket(ticket, org or services.directory.org(actor.org_id), services.clock())

    @post("/", sync_to_thread=True, status_code=201, summary="Create a ticket")
    def create_ticket(
        self,
        data: JSONBody[schemas.TicketCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.TicketOut]:
        """Open a ticket. Only `subject` is required; it gets the org's next number."""
        saved = services.tickets.create(
            actor,
            schemas.command(NewTicket, data),
        )
        return written(self._out(services, actor, saved.value, saved.org), saved, 201, saved.value.version)

    @get(
        "/{ticket_ref:str}",
        sync_to_thread=True,
        summary="Read a ticket (now, or as it was)",
    )
    def get_ticket(
        self,
        ticket_ref: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        version: Version = None,
        as_of: AsOf = None,
        include_deleted: IncludeDeleted = False,
    ) -> Response[schemas.TicketOut]:
        """`ticket_ref` is the ticket's UUID or its number (`42`).

        With `version` or `asOf`, everything is as it was then: the fields, the embedded assignee,
        creator and tags (the org's own history), and `slaBreached` at that moment.
        """
        check_as_of(version, as_of)
        read = services.tickets.read(actor, ticket_ref, version, as_of, include_deleted)
        body = presenters.ticket(read.ticket, read.org, read.at)
        return Response(body, headers={"ETag": etag(read.ticket.version)})

    @patch("/{ticket_ref:str}", sync_to_thread=True, summary="Update a ticket")
    def update_ticket(
        self,
        ticket_ref: FromPath[str],
        data: JSONBody[schemas.TicketUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        if_match: IfMatch = None,
    ) -> Response[schemas.TicketOut]:
        """Change any of the sent fields; `tagIds` is the full new set. Unchanged values record nothing.

        Send `If-Match: "<version>"` (the ETag of your read) to get 412 instead of overwriting a
        change you have not seen.
        """
        saved = services.tickets.update(
            actor, ticket_ref, schemas.command(TicketChanges, data), parse_if_match(if_match)
        )
        return written(self._out(services, actor, saved.value, saved.org), saved, version=saved.value.version)

    @delete("/{ticket_ref:str}", sync_to_thread=True, status_code=204, summary="Soft-delete a ticket")
    def delete_ticket(
        self, ticket_ref: FromPath[str], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        saved = services.tickets.delete(actor, ticket_ref)
        return written(None, saved, 204)

    @post("/{ticket_ref:str}/assign", sync_to_thread=True, status_code=200, summary="Reassign a ticket")
    def assign_ticket(
        self,
        ticket_ref: FromPath[str],
        data: JSONBody[schemas.AssignRequest],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        if_match: IfMatch = None,
    ) -> Response[schemas.TicketOut]:
        """`assigneeId` must be a member of the org; null unassigns. Honours `If-Match` like PATCH."""
        saved = services.tickets.assign(actor, ticket_ref, data.assignee_id, parse_if_match(if_match))
        return written(self._out(services, actor, saved.value, saved.org), saved, version=saved.value.version)

    @post(
        "/{ticket_ref:str}/follow-up",
        sync_to_thread=True,
        status_code=201,
        summary="Follow up a closed ticket",
    )
    def follow_up(
        self, ticket_ref: FromPath[str], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[schemas.TicketOut]:
        """Create a new ticket linked to a closed one (`followUpOf`), with its subject, contact and routing."""
        saved = services.tickets.follow_up(actor, ticket_ref)
        return written(self._out(services, actor, saved.value, saved.org), saved, 201, saved.value.version)

    # -------------------------------------------------------------------- thread

    @get("/{ticket_ref:str}/messages", sync_to_thread=True, summary="List a ticket's thread")
    def list_messages(
        self,
        ticket_ref: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        limit: Limit = 50,
        cursor: Cursor = None,
        version: Version = None,
        as_of: AsOf = None,
        include_deleted: IncludeDeleted = False,
    ) -> schemas.Page[schemas.MessageOut]:
        """Messages and internal notes, oldest first; with `version` or `asOf`, the thread as it read then."""
        check_as_of(version, as_of)
        ticket = services.tickets.get(actor, ticket_ref, version, as_of, include_deleted)
        start = (decode_cursor("messages", cursor, int, size=1) or (0,))[0]
        everything = list(ticket.messages.values())
        page: list[schemas.MessageOut] = []
        position = start
        while position < len(everything) and len(page) < limit:
            message = everything[position]
            position += 1
            if not message.deleted:
                page.append(presenters.message(message, ticket.id))
        has_more = any(not m.deleted for m in everything[position:])
        return schemas.Page(items=page, next_cursor=encode_cursor("messages", position) if has_more else None)

    @post(
        "/{ticket_ref:str}/messages", sync_to_thread=True, status_code=201, summary="Post a message or note"
    )
    def add_message(
        self,
        ticket_ref: FromPath[str],
        data: JSONBody[schemas.MessageCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.MessageOut]:
        """`isInternalNote: true` keeps it team-only. `@handle` mentions are resolved to user ids.
        `attachmentIds`: files uploaded to this ticket that no message carries yet (each once, within
        24 hours of its upload)."""
        ticket_id = services.tickets.resolve_id(actor, ticket_ref)
        saved = services.tickets.add_message(
            actor, str(ticket_id), data.content, data.is_internal_note, data.attachment_ids
        )
        return written(presenters.message(saved.value, ticket_id), saved, 201)

    @patch("/{ticket_ref:str}/messages/{message_id:uuid}", sync_to_thread=True, summary="Edit your message")
    def edit_message(
        self,
        ticket_ref: FromPath[str],
        message_id: FromPath[UUID],
        data: JSONBody[schemas.MessageUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.MessageOut]:
        ticket_id = services.tickets.resolve_id(actor, ticket_ref)
        saved = services.tickets.edit_message(actor, str(ticket_id), message_id, data.content)
        return written(presenters.message(saved.value, ticket_id), saved)

    @delete(
        "/{ticket_ref:str}/messages/{message_id:uuid}",
        sync_to_thread=True,
        status_code=204,
        summary="Delete your message",
    )
    def delete_message(
        self,
        ticket_ref: FromPath[str],
        message_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[None]:
        saved = services.tickets.delete_message(actor, ticket_ref, message_id)
        return written(None, saved, 204)

    # -------------------------------------------------------------------- timeline

    @get("/{ticket_ref:str}/activities", sync_to_thread=True, summary="The ticket's audit timeline")
    def list_activities(
        self,
        ticket_ref: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        limit: Limit = 50,
        cursor: Cursor = None,
        include_deleted: IncludeDeleted = False,
    ) -> schemas.Page[schemas.ActivityOut]:
        """One entry per event, oldest first, with `oldValue` / `newValue` and a one-line `summary`."""
        after = (decode_cursor("activities", cursor, int, size=1) or (0,))[0]
        entries = services.tickets.timeline(
            actor, ticket_ref, after_version=after, limit=limit + 1, include_deleted=include_deleted
        )
        page = entries[:limit]
        next_cursor = encode_cursor("activities", page[-1].version) if len(entries) > limit else None
        org = services.directory.org(actor.org_id)
        return schemas.Page(items=[presenters.activity(e, org) for e in page], next_cursor=next_cursor)

    @get(
        "/{ticket_ref:str}/events",
        sync_to_thread=True,
        media_type=EVENTS_MEDIA_TYPE,
        summary="Export the ticket's stored events (admin)",
        raises=[PermissionDeniedException],
    )
    def export_events(
        self, ticket_ref: FromPath[str], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[bytes]:
        """Every stored event of the ticket (deleted tickets too), oldest first, as JSON Lines: one
        `{"type", "version", "time", "actorId", "payload"}` object per line, ids and times as strings."""
        events = services.tickets.stored_events(actor, ticket_ref)
        lines = b"".join(presenters.stored_event_line(e) for e in events)
        return Response(lines, media_type=EVENTS_MEDIA_TYPE)
