"""The org event feed: `GET /api/v1/events` (pages) and `/events/stream` (Server-Sent Events), admins only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException, ServiceUnavailableException, ValidationException
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from projections.runner import ReadSide
from tickets.api import schemas
from tickets.application.actors import Actor
from tickets.application.feed import FEED_TYPE_NAMES, catalogue, decode
from tickets.application.webhooks import require_feed_reader
from tickets.bootstrap import Services

# The largest integer a JSON number (a double) states exactly: the schema's bound means what it says.
MAX_POSITION = 2**53 - 1
After = Annotated[
    int,
    QueryParameter(ge=0, le=MAX_POSITION, description="Events after this log position (`nextAfter`, or 0)"),
]
FeedLimit = Annotated[
    int, QueryParameter(ge=1, le=1000, description="At most this many events (default 100)")
]
_ONE_TYPE = "|".join(re.escape(name) for name in FEED_TYPE_NAMES)
Types = Annotated[
    str | None,
    QueryParameter(
        max_length=2000,
        pattern=f"^({_ONE_TYPE})(,({_ONE_TYPE}))*$",
        description="Only these types, comma-separated (e.g. `ticket.created,ticket.status_changed`)",
    ),
]
LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        required=False,
        pattern=r"^[0-9]{1,18}$",
        description="The `id` (log position) of the last event received: the stream resumes after it",
    ),
]

# The stream: a comment line this often when nothing happens (proxies close idle connections), the
# position re-read at least this often (followers in other processes do not signal this one), and
# a stream ends after this long (clients reconnect with Last-Event-ID), or at once when the server stops.
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0
STREAM_SECONDS = 600.0
STREAM_PAGE = 500


def _read_side(services: Services) -> ReadSide:
    if services.read_side is None:
        raise ServiceUnavailableException(detail="the read models are not configured on this server")
    return services.read_side


def parse_types(types: str | None) -> list[str]:
    chosen = [t.strip() for t in (types or "").split(",") if t.strip()]
    unknown = sorted(set(chosen) - set(FEED_TYPE_NAMES))
    if unknown:
        raise ValidationException(
            detail=f"types: unknown event type {', '.join(unknown)}",
            extra=[
                {"key": "types", "message": f"choose from {', '.join(FEED_TYPE_NAMES)}", "source": "query"}
            ],
        )
    return chosen


class EventFeedController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @get(
        "/",
        sync_to_thread=True,
        summary="The org's events after a position, in log order (admin)",
        raises=[PermissionDeniedException, ServiceUnavailableException],
    )
    def list_events(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        after: After = 0,
        types: Types = None,
        limit: FeedLimit = 100,
    ) -> schemas.FeedPage:
        """Every change to the org's tickets as a feed event (the types: `GET /api/v1/events/types`),
        ordered by `position` (increasing, with gaps). Ask again with `after=nextAfter` to resume:
        nothing is missed or repeated. The incremental export for an analyst."""
        require_feed_reader(actor)
        chosen = parse_types(types)
        rows, next_after = _read_side(services).feed_page(str(actor.org_id), after, chosen, limit)
        return schemas.FeedPage(items=[decode(row.body) for row in rows], next_after=next_after)  # type: ignore[misc]

    @get(
        "/types",
        sync_to_thread=False,
        summary="The feed's event types, each with its version and JSON Schema",
        raises=[PermissionDeniedException],
    )
    def event_types(self, actor: NamedDependency[Actor]) -> list[schemas.FeedTypeOut]:
        require_feed_reader(actor)
        return [schemas.FeedTypeOut(type=t, version=v, json_schema=s) for t, v, s in catalogue()]

    @get(
        "/stream",
        media_type="text/event-stream",
        summary="The org's events as Server-Sent Events, live (admin)",
        raises=[PermissionDeniedException, ServiceUnavailableException],
    )
    async def stream_events(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        after: After = 0,
        types: Types = None,
        last_event_id: LastEventId = None,
    ) -> ServerSentEvent:
        """Each event as `id: <position>`, `event: <type>`, `data: <the feed event>`; a comment line as a
        heartbeat every 15 s. Reconnect with `Last-Event-ID` (browsers' EventSource do) to resume after
        the last event received. A stream ends after 10 minutes or when the server stops."""
        require_feed_reader(actor)
        chosen = parse_types(types)
        read_side = _read_side(services)
        start = int(last_event_id) if last_event_id is not None else after
        return ServerSentEvent(
            feed_stream(read_side, str(actor.org_id), start, chosen),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def feed_stream(
    read_side: ReadSide, org_id: str, after: int, types: list[str]
) -> AsyncIterator[ServerSentEventMessage]:
    """The org's events after `after` as they come: woken by the read side's progress signal; ends
    when the read side closes (the server stops)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + STREAM_SECONDS
    quiet_since = loop.time()
    while not read_side.closing.is_set() and loop.time() < end:
        progressed = read_side.progress.next()  # subscribe before reading, so no progress is missed
        try:
            rows, next_after = await asyncio.to_thread(read_side.feed_page, org_id, after, types, STREAM_PAGE)
            for row in rows:
                yield ServerSentEventMessage(data=row.body, event=row.type, id=row.position)
            after = next_after
            if rows:
                quiet_since = loop.time()
                continue
            if loop.time() - quiet_since >= HEARTBEAT_SECONDS:
                quiet_since = loop.time()
                yield ServerSentEventMessage(comment="heartbeat")
            await asyncio.wait({progressed}, timeout=POLL_SECONDS)
        finally:
            progressed.cancel()
