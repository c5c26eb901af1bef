"""The caller's inbox: notifications made from the log, read and unread, and their live stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.params import FromPath, HeaderParameter, Parameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from tickets.api import presenters, schemas
from tickets.api.controllers.common import Cursor, Limit, written
from tickets.api.controllers.listing import _position_header, _read_side, read_position_of
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.application.actors import Actor
from tickets.bootstrap import Services
from tickets.domain.organization import Organization

Unread = Annotated[bool, QueryParameter(description="Only unread notifications")]
ItemId = Annotated[str, Parameter(max_length=64, description="A notification's id")]
LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="last-event-id", required=False, max_length=20, pattern=r"^\d+$", description="Resume after"
    ),
]
# A stream with nothing to say still sends a comment this often, so proxies keep it open.
HEARTBEAT_SECONDS = 15.0


class InboxController(Controller):
    path = "/api/v1/inbox"
    tags = ["inbox"]

    @get(
        "/",
        sync_to_thread=True,
        dependencies={"read_position": Provide(read_position_of("inbox"))},
        summary="My notifications, newest first",
        raises=[ServiceUnavailableException],
    )
    def list_items(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
        unread: Unread = False,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.Page[schemas.InboxItemOut]]:
        """Being assigned (by a person or a rule), @-mentioned, a contact's reply or an SLA breach on
        my ticket, a linked issue done: never my own actions."""
        key = decode_cursor("inbox", cursor, int, size=1)
        org = services.directory.org(actor.org_id)
        items, before = _read_side(services).inbox(
            str(actor.org_id), str(actor.user_id), unread, key[0] if key else None, limit, _hidden(org, actor)
        )
        body = schemas.Page(
            items=[presenters.inbox_item(i, org) for i in items],
            next_cursor=encode_cursor("inbox", before) if before is not None else None,
        )
        return Response(body, headers=_position_header(read_position))

    @get(
        "/count",
        sync_to_thread=True,
        dependencies={"read_position": Provide(read_position_of("inbox"))},
        summary="How many of my notifications are unread",
        raises=[ServiceUnavailableException],
    )
    def count(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
    ) -> Response[schemas.InboxCount]:
        hidden = _hidden(services.directory.org(actor.org_id), actor)
        unread = _read_side(services).inbox_unread(str(actor.org_id), str(actor.user_id), hidden)
        return Response(schemas.InboxCount(unread=unread), headers=_position_header(read_position))

    @post(
        "/{item_id:str}/read",
        sync_to_thread=True,
        status_code=204,
        summary="Mark a notification read",
        raises=[ServiceUnavailableException],
    )
    def read(
        self, item_id: FromPath[ItemId], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        hidden = _hidden(services.directory.org(actor.org_id), actor)
        if _read_side(services).inbox_item(str(actor.org_id), str(actor.user_id), item_id, hidden) is None:
            raise NotFoundException(detail=f"notification {item_id} not found")
        return written(None, services.inbox.read(actor, [item_id]), status_code=204)

    @post("/read-all", sync_to_thread=True, status_code=204, summary="Mark all my notifications read")
    def read_all(self, services: NamedDependency[Services], actor: NamedDependency[Actor]) -> Response[None]:
        return written(None, services.inbox.read_all(actor), status_code=204)

    @get(
        "/stream",
        media_type="text/event-stream",
        summary="My new notifications as Server-Sent Events",
        raises=[ServiceUnavailableException],
    )
    async def stream(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        """Each event is a notification (`event: notification`, `id:` its position, `data:` as in the
        list). Reconnect with `Last-Event-ID` to get what came meanwhile; a comment every 15 s."""
        read_side = _read_side(services)
        org = await asyncio.to_thread(services.directory.org, actor.org_id)
        after = int(last_event_id) if last_event_id else read_side.head()

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            nonlocal after
            # Litestar ends the generator when the client goes away.
            while True:
                progressed = read_side.progress.next()
                try:
                    items, _ = await asyncio.to_thread(
                        read_side.inbox,
                        str(actor.org_id),
                        str(actor.user_id),
                        False,
                        None,
                        50,
                        _hidden(org, actor),
                    )
                    for item in sorted((i for i in items if i.position > after), key=lambda i: i.position):
                        after = item.position
                        data = msgspec.json.encode(presenters.inbox_item(item, org)).decode()
                        yield ServerSentEventMessage(data=data, event="notification", id=str(item.position))
                    done, _ = await asyncio.wait({progressed}, timeout=HEARTBEAT_SECONDS)
                    if not done:
                        yield ServerSentEventMessage(comment="keep-alive")
                finally:
                    progressed.cancel()

        return ServerSentEvent(events())


def _hidden(org: Organization, actor: Actor) -> set[str]:
    """The private teams whose tickets' notifications the member does not see (not in them)."""
    return org.hidden_team_ids(actor.user_id, actor.role)
