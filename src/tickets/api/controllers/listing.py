"""The ticket list and stats, served from the read models (projections/), with read-your-writes.

A write's response carries `X-Event-Position`. List and stats first wait (at most
`Services.read_your_writes_timeout` seconds) until the read models have reached a position: the
request's `X-Min-Position` header if sent, else the head of the log when the request
arrived, so a client sees its own writes without doing anything. `X-Min-Position: 0`
skips the wait; a position beyond the head of the log is a 400 at once. The wait is a
coroutine on the event loop (`ReadSide.reach`), so waiting requests hold no worker thread
and do not delay others. Responses tell the position they reflect in `X-Projection-Position`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.params import HeaderParameter, QueryParameter

from projections.runner import ReadSide
from projections.ticket_list import SORT_COLUMNS, ListFilters
from tickets.api import presenters, schemas
from tickets.api.controllers.common import Cursor, Limit
from tickets.api.controllers.tickets import TicketController
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.application.actors import Actor
from tickets.bootstrap import Services
from tickets.domain.organization import Organization
from tickets.domain.values import Category, Priority, Source, Status

MIN_POSITION_HEADER = "X-Min-Position"
PROJECTION_POSITION_HEADER = "X-Projection-Position"

SortOrder = Literal[
    "createdAt",
    "-createdAt",
    "updatedAt",
    "-updatedAt",
    "priority",
    "-priority",
    "slaDeadline",
    "-slaDeadline",
]
MinPosition = Annotated[
    int | None,
    HeaderParameter(
        name=MIN_POSITION_HEADER,
        ge=0,
        required=False,
        description="Wait until the read models include this log position (a write's X-Event-Position)",
    ),
]


def _read_side(services: Services) -> ReadSide:
    if services.read_side is None:
        raise ServiceUnavailableException(detail="the read models are not configured on this server")
    return services.read_side


def _position_header(position: int) -> dict[str, str]:
    return {PROJECTION_POSITION_HEADER: str(position)}


def read_position_of(*names: str) -> Callable[..., Awaitable[int]]:
    """A dependency that waits for the read models `names` (default: list, stats, SLA) as below."""

    async def provide(
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        min_position: MinPosition = None,
    ) -> int:
        # A header is sent or not: `null` is no position (Litestar would read it as "not sent").
        if request.headers.get(MIN_POSITION_HEADER, "").strip().lower() == "null":
            raise ValidationException(
                detail=f"{MIN_POSITION_HEADER}: a log position (a whole number), not null",
                extra=[
                    {"key": MIN_POSITION_HEADER, "message": "a whole number, not null", "source": "header"}
                ],
            )
        return await provide_read_position(services, actor, min_position, names)

    return provide


async def provide_read_position(
    services: NamedDependency[Services],
    actor: NamedDependency[Actor],
    min_position: MinPosition = None,
    names: tuple[str, ...] = (),
) -> int:
    """Wait (on the event loop, bounded) for read-your-writes; the position the read models reached.

    Depends on `actor`, so only an authenticated request can make the server wait.
    """
    read_side = _read_side(services)
    head = await asyncio.to_thread(read_side.head)
    if min_position is not None and min_position > head:
        raise ValidationException(
            detail=f"{MIN_POSITION_HEADER} is beyond the head of the log",
            extra=[
                {
                    "key": MIN_POSITION_HEADER,
                    "message": f"{min_position} is beyond the newest position in the log ({head})",
                    "source": "header",
                }
            ],
        )
    target = head if min_position is None else min_position
    return await read_side.reach(target, services.read_your_writes_timeout, names=names or None)


READ_POSITION = {"read_position": Provide(read_position_of())}


def _tag_ids(org: Organization, values: list[str]) -> list[str]:
    """Tag filter values (ids or names, any case) -> the ids of the org's matching tags."""
    ids: list[str] = []
    for value in values:
        try:
            ids.append(str(UUID(value)))
            continue
        except ValueError:
            pass
        ids.extend(str(t.id) for t in org.tags.values() if t.name.lower() == value.strip().lower())
    return list(dict.fromkeys(ids))


def _assignees(values: list[str]) -> tuple[list[str], bool]:
    ids: list[str] = []
    unassigned = False
    for value in values:
        if value.strip().lower() == "none":
            unassigned = True
            continue
        try:
            ids.append(str(UUID(value)))
        except ValueError:
            raise ValidationException(
                detail=f"assigneeId: {value!r} is not a user id or 'none'",
                extra=[{"key": "assigneeId", "message": "a user id, or 'none' for unassigned"}],
            ) from None
    return ids, unassigned


StatusFilter = Annotated[list[Status] | None, QueryParameter(description="Repeat for any of several")]
PriorityFilter = Annotated[list[Priority] | None, QueryParameter(description="Repeat for any of several")]
CategoryFilter = Annotated[list[Category] | None, QueryParameter(description="Repeat for any of several")]
SourceFilter = Annotated[list[Source] | None, QueryParameter(description="Repeat for any of several")]
AssigneeFilter = Annotated[
    list[str] | None, QueryParameter(name="assigneeId", description="A user id, or `none` for unassigned")
]
TeamFilter = Annotated[list[UUID] | None, QueryParameter(name="teamId")]
TagFilter = Annotated[list[str] | None, QueryParameter(description="A tag's id or name")]
ContactFilter = Annotated[list[str] | None, QueryParameter(name="contactEmail")]
TextQuery = Annotated[
    str | None,
    QueryParameter(max_length=500, description="Words that must all appear in subject or description"),
]
BreachedFilter = Annotated[
    bool | None, QueryParameter(description="Only tickets past a running SLA deadline")
]
UpdatedSince = Annotated[
    datetime | None,
    QueryParameter(
        name="updatedSince",
        description="Only tickets changed at or after this RFC 3339 time (incremental sync)",
    ),
]
Sort = Annotated[
    SortOrder, QueryParameter(description="createdAt, updatedAt, priority or slaDeadline; '-' for descending")
]


class TicketListController(TicketController):
    """TicketController plus the list and stats, which read the projections.

    A subclass rather than a second Controller on /api/v1/tickets: Litestar 2.25 cannot merge
    two Controllers (or a Controller and a plain handler) onto one path. It stands in for
    TicketController in the app's controller list.
    """

    @get(
        "/",
        sync_to_thread=True,
        dependencies=READ_POSITION,
        summary="List tickets (filters, sort, keyset pages)",
        raises=[ServiceUnavailableException],
    )
    def list_tickets(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
        status: StatusFilter = None,
        priority: PriorityFilter = None,
        category: CategoryFilter = None,
        source: SourceFilter = None,
        assignee_id: AssigneeFilter = None,
        team_id: TeamFilter = None,
        tag: TagFilter = None,
        contact_email: ContactFilter = None,
        q: TextQuery = None,
        breached: BreachedFilter = None,
        updated_since: UpdatedSince = None,
        sort: Sort = "-createdAt",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.Page[schemas.TicketListItem]]:
        """Values of one filter are alternatives (`status=open&status=pending`); filters combine with AND."""
        assert sort.lstrip("-") in SORT_COLUMNS
        key = decode_cursor(sort, cursor, int, size=2)
        after = (key[0], key[1]) if key else None
        org = services.directory.org(actor.org_id)
        assignees, unassigned = _assignees(assignee_id or [])
        filters = ListFilters(
            statuses=[s.value for s in status or []],
            priorities=[p.value for p in priority or []],
            categories=[c.value for c in category or []],
            sources=[s.value for s in source or []],
            assignee_ids=assignees,
            unassigned=unassigned,
            team_ids=[str(t) for t in team_id or []],
            tag_ids=_tag_ids(org, tag) if tag else None,
            contact_emails=list(contact_email or []),
            query=q or "",
            breached=breached,
            updated_since=updated_since,
            hidden_team_ids=sorted(org.hidden_team_ids(actor.user_id, actor.role)),
        )
        read_side, headers = _read_side(services), _position_header(read_position)
        now = services.clock()
        page = read_side.list_tickets(str(actor.org_id), filters, now, sort, after, limit)
        body = schemas.Page(
            items=[presenters.ticket_list_item(row, org, now) for row in page.rows],
            next_cursor=encode_cursor(sort, *page.next_after) if page.next_after else None,
        )
        return Response(body, headers=headers)

    @get(
        "/stats",
        sync_to_thread=True,
        dependencies=READ_POSITION,
        summary="Ticket counts for dashboards",
        raises=[ServiceUnavailableException],
    )
    def ticket_stats(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
        team_id: Annotated[UUID | None, QueryParameter(name="teamId")] = None,
        assignee_id: Annotated[UUID | None, QueryParameter(name="assigneeId")] = None,
    ) -> Response[schemas.TicketStats]:
        """Counts per status, priority and category, and how many tickets are past their SLA deadline now.

        Narrow to one team (`teamId`), one assignee (`assigneeId`), or an assignee's tickets in a team
        (both). Private teams the caller is not in count nowhere.
        """
        read_side, headers = _read_side(services), _position_header(read_position)
        org = services.directory.org(actor.org_id)
        stats = read_side.stats(
            str(actor.org_id),
            services.clock(),
            team_id=str(team_id) if team_id else None,
            assignee_id=str(assignee_id) if assignee_id else None,
            hidden_team_ids=org.hidden_team_ids(actor.user_id, actor.role),
        )
        body = schemas.TicketStats(
            total=stats.counts.total,
            by_status=stats.counts.by_status,
            by_priority=stats.counts.by_priority,
            by_category=stats.counts.by_category,
            sla_breached=stats.sla_breached,
            sla_breached_total=stats.sla_breached_total,
        )
        return Response(body, headers=headers)
