"""Engineering issues (`/api/v1/issues`) and converting a ticket into one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromPath, JSONBody, QueryParameter

from tickets.api import presenters, schemas
from tickets.api.controllers.common import Cursor, Limit, written
from tickets.api.controllers.listing import _position_header, _read_side, read_position_of
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.application.actors import Actor
from tickets.bootstrap import Services
from tickets.domain.commands import IssueChanges, NewIssue
from tickets.domain.values import IssueStatus

StatusFilter = Annotated[IssueStatus | None, QueryParameter(description="Only issues with this status")]
AssigneeFilter = Annotated[
    str | None,
    QueryParameter(
        name="assigneeId",
        pattern=r"^(none|[0-9a-fA-F-]{36})$",
        description="Only this member's issues; `none` for unassigned ones",
    ),
]


class IssueController(Controller):
    path = "/api/v1/issues"
    tags = ["issues"]

    @get(
        "/",
        sync_to_thread=True,
        dependencies={"read_position": Provide(read_position_of("issues"))},
        summary="List issues (newest first; filters: status, assignee)",
        raises=[ServiceUnavailableException],
    )
    def list_issues(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
        status: StatusFilter = None,
        assignee_id: AssigneeFilter = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.Page[schemas.IssueListItem]]:
        key = decode_cursor("issues", cursor, int, size=1)
        assignee = assignee_id if assignee_id in (None, "none") else str(UUID(assignee_id))
        rows, before = _read_side(services).issues(
            str(actor.org_id), status.value if status else None, assignee, key[0] if key else None, limit
        )
        body = schemas.Page(
            items=[presenters.issue_list_item(r) for r in rows],
            next_cursor=encode_cursor("issues", before) if before is not None else None,
        )
        return Response(body, headers=_position_header(read_position))

    @post("/", sync_to_thread=True, status_code=201, summary="Create an issue (agents, admins)")
    def create_issue(
        self,
        data: JSONBody[schemas.IssueCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.IssueOut]:
        saved = services.issues.create(actor, schemas.command(NewIssue, data))
        return written(presenters.issue(saved.value), saved, 201)

    @get("/{issue_ref:str}", sync_to_thread=True, summary="Read an issue (by UUID or number)")
    def get_issue(
        self, issue_ref: FromPath[str], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.IssueOut:
        return presenters.issue(services.issues.get(actor, issue_ref))

    @patch("/{issue_ref:str}", sync_to_thread=True, summary="Change an issue (agents, admins)")
    def update_issue(
        self,
        issue_ref: FromPath[str],
        data: JSONBody[schemas.IssueUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.IssueOut]:
        """Any status may follow any other; reaching `done` leaves an internal note on each linked ticket."""
        saved = services.issues.update(actor, issue_ref, schemas.command(IssueChanges, data))
        return written(presenters.issue(saved.value), saved)

    @delete("/{issue_ref:str}", sync_to_thread=True, status_code=204, summary="Delete an issue (soft)")
    def delete_issue(
        self, issue_ref: FromPath[str], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        saved = services.issues.delete(actor, issue_ref)
        return written(None, saved, status_code=204)

    @post(
        "/{issue_ref:str}/links", sync_to_thread=True, status_code=201, summary="Link a ticket to the issue"
    )
    def link_ticket(
        self,
        issue_ref: FromPath[str],
        data: JSONBody[schemas.IssueLinkCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.IssueOut]:
        """Both record the link (`ticket_linked`, `issue_linked`); linking again changes nothing."""
        saved = services.issues.link(actor, issue_ref, data.ticket_id)
        return written(presenters.issue(saved.value), saved, 201)

    @get("/{issue_ref:str}/activities", sync_to_thread=True, summary="The issue's timeline")
    def list_activities(
        self,
        issue_ref: FromPath[str],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> schemas.Page[schemas.ActivityOut]:
        after = (decode_cursor("issue-activities", cursor, int, size=1) or (0,))[0]
        entries = services.issues.timeline(actor, issue_ref, after_version=after, limit=limit + 1)
        page = entries[:limit]
        next_cursor = encode_cursor("issue-activities", page[-1].version) if len(entries) > limit else None
        org = services.directory.org(actor.org_id)
        return schemas.Page(items=[presenters.activity(e, org) for e in page], next_cursor=next_cursor)


class ConvertController(Controller):
    path = "/api/v1/tickets"
    tags = ["issues"]

    @post(
        "/{ticket_ref:str}/convert-to-issue",
        sync_to_thread=True,
        status_code=201,
        summary="Convert a ticket into an engineering issue linked to it (agents, admins)",
    )
    def convert(
        self,
        ticket_ref: FromPath[str],
        data: JSONBody[schemas.ConvertToIssue],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.IssueOut]:
        """The issue takes the ticket's subject and description unless given, and `metadata.ticketId`."""
        saved = services.issues.convert(actor, ticket_ref, data.title, data.description)
        return written(presenters.issue(saved.value), saved, 201)
