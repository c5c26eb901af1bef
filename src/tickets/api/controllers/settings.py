"""Org settings used by tickets: tags, SLA policies and canned responses."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from tickets.api import presenters, schemas
from tickets.api.controllers.common import Paging, written
from tickets.application.actors import Actor
from tickets.application.directory import canned_response_order, sla_policy_order, tag_order
from tickets.bootstrap import Services
from tickets.domain.commands import CannedResponseChanges, SlaPolicyChanges, TagChanges

TeamFilter = Annotated[UUID | None, QueryParameter(name="teamId", description="Only this team's items")]


class TagController(Controller):
    path = "/api/v1/ticket-tags"
    tags = ["tags"]

    @get("/", sync_to_thread=True, summary="List tags (paged, by name)")
    def list_tags(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
        team_id: TeamFilter = None,
    ) -> schemas.Page[schemas.TagOut]:
        return paging.page("tags", services.directory.tags(actor, team_id), tag_order, presenters.tag)

    @get("/{tag_id:uuid}", sync_to_thread=True, summary="Read a tag")
    def get_tag(
        self, tag_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.TagOut:
        return presenters.tag(services.directory.tag(actor, tag_id))

    @post("/", sync_to_thread=True, status_code=201, summary="Create a tag")
    def create_tag(
        self,
        data: JSONBody[schemas.TagCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.TagOut]:
        """Names are unique per team scope (409); colours are `#rrggbb` (422 otherwise)."""
        saved = services.directory.create_tag(actor, data.name, data.color, data.team_id)
        return written(presenters.tag(saved.value), saved, 201)

    @patch("/{tag_id:uuid}", sync_to_thread=True, summary="Update a tag")
    def update_tag(
        self,
        tag_id: FromPath[UUID],
        data: JSONBody[schemas.TagUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.TagOut]:
        saved = services.directory.update_tag(actor, tag_id, schemas.command(TagChanges, data))
        return written(presenters.tag(saved.value), saved)

    @delete("/{tag_id:uuid}", sync_to_thread=True, status_code=204, summary="Delete a tag")
    def delete_tag(
        self, tag_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        return written(None, services.directory.delete_tag(actor, tag_id), 204)


class SlaPolicyController(Controller):
    path = "/api/v1/sla-policies"
    tags = ["sla-policies"]

    @get("/", sync_to_thread=True, summary="List SLA policies (paged, org-wide first, then by team)")
    def list_policies(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.SlaPolicyOut]:
        policies = services.directory.sla_policies(actor)
        return paging.page("sla-policies", policies, sla_policy_order, presenters.sla_policy)

    @get("/{policy_id:uuid}", sync_to_thread=True, summary="Read an SLA policy")
    def get_policy(
        self, policy_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.SlaPolicyOut:
        return presenters.sla_policy(services.directory.sla_policy(actor, policy_id))

    @post(
        "/",
        sync_to_thread=True,
        status_code=201,
        summary="Create an SLA policy (admin; a team's: its members too)",
    )
    def create_policy(
        self,
        data: JSONBody[schemas.SlaPolicyCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.SlaPolicyOut]:
        """One policy per (priority, team); a team's policy beats the org-wide one."""
        saved = services.directory.create_sla_policy(
            actor, data.priority, data.first_response_minutes, data.resolution_minutes, data.team_id
        )
        return written(presenters.sla_policy(saved.value), saved, 201)

    @patch(
        "/{policy_id:uuid}",
        sync_to_thread=True,
        summary="Update an SLA policy (admin; a team's: its members too)",
    )
    def update_policy(
        self,
        policy_id: FromPath[UUID],
        data: JSONBody[schemas.SlaPolicyUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.SlaPolicyOut]:
        saved = services.directory.update_sla_policy(
            actor, policy_id, schemas.command(SlaPolicyChanges, data)
        )
        return written(presenters.sla_policy(saved.value), saved)

    @delete(
        "/{policy_id:uuid}",
        sync_to_thread=True,
        status_code=204,
        summary="Delete an SLA policy (admin; a team's: its members too)",
    )
    def delete_policy(
        self, policy_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        return written(None, services.directory.delete_sla_policy(actor, policy_id), 204)


class CannedResponseController(Controller):
    path = "/api/v1/canned-responses"
    tags = ["canned-responses"]

    @get("/", sync_to_thread=True, summary="List canned responses (paged, by title)")
    def list_canned(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
        team_id: TeamFilter = None,
    ) -> schemas.Page[schemas.CannedResponseOut]:
        """With `teamId`, the team's own and the org-wide ones."""
        items = services.directory.canned_responses(actor, team_id)
        return paging.page("canned-responses", items, canned_response_order, presenters.canned_response)

    @get("/{canned_id:uuid}", sync_to_thread=True, summary="Read a canned response")
    def get_canned(
        self, canned_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.CannedResponseOut:
        return presenters.canned_response(services.directory.canned_response(actor, canned_id))

    @post("/", sync_to_thread=True, status_code=201, summary="Create a canned response")
    def create_canned(
        self,
        data: JSONBody[schemas.CannedResponseCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.CannedResponseOut]:
        """Agents create team-scoped ones; org-wide ones (no `teamId`) need an admin."""
        saved = services.directory.create_canned_response(actor, data.title, data.body, data.team_id)
        return written(presenters.canned_response(saved.value), saved, 201)

    @patch("/{canned_id:uuid}", sync_to_thread=True, summary="Update a canned response")
    def update_canned(
        self,
        canned_id: FromPath[UUID],
        data: JSONBody[schemas.CannedResponseUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.CannedResponseOut]:
        saved = services.directory.update_canned_response(
            actor, canned_id, schemas.command(CannedResponseChanges, data)
        )
        return written(presenters.canned_response(saved.value), saved)

    @delete("/{canned_id:uuid}", sync_to_thread=True, status_code=204, summary="Delete a canned response")
    def delete_canned(
        self, canned_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        return written(None, services.directory.delete_canned_response(actor, canned_id), 204)
