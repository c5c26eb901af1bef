"""Trigger rules (admins): what happens by itself when tickets are created, updated or written to."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody

from tickets.api import presenters, schemas
from tickets.api.controllers.common import Paging, written
from tickets.application.actors import Actor
from tickets.bootstrap import Services
from tickets.domain.rules import rule_order


class RuleController(Controller):
    path = "/api/v1/rules"
    tags = ["rules"]

    # Reads are for admins too: the 403 is documented (writes document theirs already).
    @get(
        "/",
        sync_to_thread=True,
        summary="List trigger rules (admin; paged, in the order they run)",
        raises=[PermissionDeniedException],
    )
    def list_rules(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.RuleOut]:
        return paging.page("rules", services.rules.rules(actor), rule_order, presenters.rule)

    @get(
        "/{rule_id:uuid}",
        sync_to_thread=True,
        summary="Read a trigger rule (admin)",
        raises=[PermissionDeniedException],
    )
    def get_rule(
        self, rule_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.RuleOut:
        return presenters.rule(services.rules.rule(actor, rule_id))

    @post("/", sync_to_thread=True, status_code=201, summary="Create a trigger rule (admin)")
    def create_rule(
        self,
        data: JSONBody[schemas.RuleCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.RuleOut]:
        """Names are unique in the org (409); an unknown event, field, op, action type, or a value a
        field does not take is a 422 saying which. The rule reacts to events from now on."""
        saved = services.rules.create_rule(actor, schemas.rule_spec(data))
        return written(presenters.rule(saved.value), saved, 201)

    @patch("/{rule_id:uuid}", sync_to_thread=True, summary="Change a trigger rule (admin)")
    def update_rule(
        self,
        rule_id: FromPath[UUID],
        data: JSONBody[schemas.RuleUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.RuleOut]:
        """A changed rule reacts to events from now on."""
        saved = services.rules.update_rule(actor, rule_id, schemas.rule_changes(data))
        return written(presenters.rule(saved.value), saved)

    @delete("/{rule_id:uuid}", sync_to_thread=True, status_code=204, summary="Delete a trigger rule (admin)")
    def delete_rule(
        self, rule_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        return written(None, services.rules.delete_rule(actor, rule_id), 204)

    @post(
        "/{rule_id:uuid}/dry-run",
        sync_to_thread=True,
        status_code=200,
        summary="Show what a rule would do to a ticket, without doing it (admin)",
    )
    def dry_run(
        self,
        rule_id: FromPath[UUID],
        data: JSONBody[schemas.DryRunRequest],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> schemas.RuleDryRunOut:
        return presenters.dry_run(services.rules.dry_run(actor, rule_id, data.ticket_id))
