"""The caller, the org's members and its teams."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from tickets.api import presenters, schemas
from tickets.api.controllers.common import Paging, written
from tickets.application.actors import Actor
from tickets.application.directory import member_order, team_order
from tickets.bootstrap import Services
from tickets.domain.commands import MemberChanges, TeamChanges
from tickets.domain.inbox import DIGEST_FREQUENCIES, DigestFrequency


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["identity"]

    @get("/", sync_to_thread=True, summary="Who am I")
    def me(self, services: NamedDependency[Services], actor: NamedDependency[Actor]) -> schemas.MeOut:
        org = services.directory.org(actor.org_id)
        return schemas.MeOut(
            user=presenters.user(org.member(actor.user_id)),
            org=presenters.org(org, services.mail_settings.domain),
            notify=presenters.notify(services.inbox.preferences(actor)),
        )

    @patch("/", sync_to_thread=True, summary="Change my notification preferences and e-mail digest")
    def update_me(
        self,
        data: JSONBody[schemas.MeUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.MeOut]:
        """`notify`: turn kinds of inbox notification off (or on again), from now on; `emailDigest`
        (`off`, `hourly`, `daily`): mail me my unread notifications once a period."""
        kinds, email_digest = _notify_changes(data.notify)
        saved = services.inbox.set_preferences(actor, kinds, email_digest)
        org = services.directory.org(actor.org_id)
        body = schemas.MeOut(
            user=presenters.user(org.member(actor.user_id)),
            org=presenters.org(org, services.mail_settings.domain),
            notify=presenters.notify(saved.value),
        )
        return written(body, saved)


def _notify_changes(notify: dict[str, Any]) -> tuple[dict[str, bool], DigestFrequency | None]:
    """`notify` split into the kinds turned on or off and the digest's frequency (None: unchanged);
    a value the schema does not allow for its key is a 400."""
    kinds: dict[str, bool] = {}
    wrong = []
    for key, value in notify.items():
        if key == schemas.EMAIL_DIGEST:
            if value not in DIGEST_FREQUENCIES:
                wrong.append(
                    {"key": f"notify.{key}", "message": f"expected one of {', '.join(DIGEST_FREQUENCIES)}"}
                )
        elif isinstance(value, bool):
            kinds[key] = value
        else:
            wrong.append({"key": f"notify.{key}", "message": "expected true or false"})
    if wrong:
        raise ValidationException(detail="the notify preferences are malformed", extra=wrong)
    return kinds, cast("DigestFrequency | None", notify.get(schemas.EMAIL_DIGEST))


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["identity"]

    @get("/", sync_to_thread=True, summary="List the org's members (paged, by name)")
    def list_users(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.UserOut]:
        return paging.page("users", services.directory.members(actor), member_order, presenters.user)

    @get("/{user_id:uuid}", sync_to_thread=True, summary="Read a member")
    def get_user(
        self, user_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.UserOut:
        return presenters.user(services.directory.member(actor, user_id))

    @post("/", sync_to_thread=True, status_code=201, summary="Add a member (admin)")
    def create_user(
        self,
        data: JSONBody[schemas.UserCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> schemas.UserCreated:
        """Returns the new member's API token; it is shown only this once."""
        created = services.directory.create_user(
            actor.org_id, data.email, data.name, data.role, data.handle, actor=actor
        )
        member = services.directory.member(actor, created.user_id)
        return schemas.UserCreated(user=presenters.user(member), token=created.token)

    @patch("/{user_id:uuid}", sync_to_thread=True, summary="Change a member's name or role (admin)")
    def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[schemas.UserUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.UserOut]:
        saved = services.directory.update_member(actor, user_id, schemas.command(MemberChanges, data))
        return written(presenters.user(saved.value), saved)


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["teams"]

    @get("/", sync_to_thread=True, summary="List teams (paged, by name)")
    def list_teams(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.TeamOut]:
        return paging.page("teams", services.directory.teams(actor), team_order, presenters.team)

    @get("/{team_id:uuid}", sync_to_thread=True, summary="Read a team")
    def get_team(
        self, team_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.TeamOut:
        return presenters.team(services.directory.team(actor, team_id))

    @post("/", sync_to_thread=True, status_code=201, summary="Create a team (admin)")
    def create_team(
        self,
        data: JSONBody[schemas.TeamCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.TeamOut]:
        saved = services.directory.create_team(actor, data.name, data.description, data.private)
        return written(presenters.team(saved.value), saved, 201)

    @patch("/{team_id:uuid}", sync_to_thread=True, summary="Update a team (admin)")
    def update_team(
        self,
        team_id: FromPath[UUID],
        data: JSONBody[schemas.TeamUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.TeamOut]:
        saved = services.directory.update_team(actor, team_id, schemas.command(TeamChanges, data))
        return written(presenters.team(saved.value), saved)

    @delete("/{team_id:uuid}", sync_to_thread=True, status_code=204, summary="Delete a team (admin)")
    def delete_team(
        self, team_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        return written(None, services.directory.delete_team(actor, team_id), 204)

    @get("/{team_id:uuid}/members", sync_to_thread=True, summary="List a team's members (paged, by name)")
    def list_team_members(
        self,
        team_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        paging: NamedDependency[Paging],
    ) -> schemas.Page[schemas.UserOut]:
        members = services.directory.team_members(actor, team_id)
        return paging.page("team-members", members, member_order, presenters.user)

    @put(
        "/{team_id:uuid}/members/{user_id:uuid}",
        sync_to_thread=True,
        status_code=200,
        summary="Add a member to a team (admin; adding one again changes nothing)",
    )
    def add_team_member(
        self,
        team_id: FromPath[UUID],
        user_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.UserOut]:
        saved = services.directory.add_team_member(actor, team_id, user_id)
        return written(presenters.user(saved.value), saved)

    @delete(
        "/{team_id:uuid}/members/{user_id:uuid}",
        sync_to_thread=True,
        status_code=204,
        summary="Remove a member from a team (admin)",
    )
    def remove_team_member(
        self,
        team_id: FromPath[UUID],
        user_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[None]:
        return written(None, services.directory.remove_team_member(actor, team_id, user_id), 204)
