"""Agents: members of kind `agent` that @-mentions and rules dispatch to, and their reports.

Agents are a resource of their own rather than `POST /users` with a kind: they have no e-mail, no
role to choose and no token of their own, and they have a dispatch URL or a behaviour and a signing
secret that people have not; one shape per kind keeps both validations exact. They are members all
the same: `GET /users` lists them (`kind: agent`), and timelines show them by name.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from tickets.api import presenters, schemas
from tickets.api.controllers.common import Paging, written
from tickets.application.actors import Actor
from tickets.application.directory import member_order
from tickets.bootstrap import Services


class AgentController(Controller):
    path = "/api/v1/agents"
    tags = ["agents"]

    @get("/", sync_to_thread=True, summary="List the org's agents (paged, by name)")
    def list_agents(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.AgentOut]:
        return paging.page("agents", services.directory.agents(actor), member_order, presenters.agent)

    @get("/{agent_id:uuid}", sync_to_thread=True, summary="Read an agent")
    def get_agent(
        self, agent_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.AgentOut:
        return presenters.agent(services.directory.agent(actor, agent_id))

    @post("/", sync_to_thread=True, status_code=201, summary="Add an agent (admin)")
    def create_agent(
        self,
        data: JSONBody[schemas.AgentCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.AgentCreated]:
        """An external agent (`dispatchUrl`) gets `secret`, the key its dispatches are signed with
        (Standard Webhooks): shown only this once. A built-in agent (`behaviour: triage`) has none."""
        saved = services.directory.create_agent(
            actor, actor.org_id, data.name, data.handle, data.dispatch_url, data.behaviour
        )
        created = schemas.AgentCreated(agent=presenters.agent(saved.value.agent), secret=saved.value.secret)
        return written(created, saved, 201)

    @patch("/{agent_id:uuid}", sync_to_thread=True, summary="Rename an agent or change where it runs (admin)")
    def update_agent(
        self,
        agent_id: FromPath[UUID],
        data: JSONBody[schemas.AgentUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.AgentCreated]:
        """`secret` is set when the agent became external and had no secret yet (shown only this once)."""
        changes = {name: getattr(data, name) for name in ("name", "dispatch_url", "behaviour")}
        sent = {name: value for name, value in changes.items() if value is not UNSET}
        saved = services.directory.update_agent(actor, agent_id, **sent)
        updated = schemas.AgentCreated(agent=presenters.agent(saved.value.agent), secret=saved.value.secret)
        return written(updated, saved)

    @post(
        "/{agent_id:uuid}/rotate-secret",
        sync_to_thread=True,
        status_code=200,
        summary="Give an external agent a new signing secret (admin)",
    )
    def rotate_secret(
        self, agent_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[schemas.AgentSecretOut]:
        saved = services.directory.rotate_agent_secret(actor, agent_id)
        return written(schemas.AgentSecretOut(secret=saved.value), saved)


class AgentDispatchController(Controller):
    path = "/api/v1/tickets/{ticket_ref:str}/agent-dispatches"
    tags = ["agents"]

    @post(
        "/{dispatch_id:uuid}/complete",
        sync_to_thread=True,
        status_code=204,
        summary="Report how a dispatch ended (the agent, with its dispatch token)",
    )
    def complete(
        self,
        ticket_ref: FromPath[str],
        dispatch_id: FromPath[UUID],
        data: JSONBody[schemas.DispatchComplete],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[None]:
        """Records `agent_completed` or `agent_failed` with the summary, and revokes the dispatch's
        tokens. A dispatch is reported once (then `409`)."""
        saved = services.tickets.complete_dispatch(actor, ticket_ref, dispatch_id, data.status, data.summary)
        return written(None, saved, 204)
