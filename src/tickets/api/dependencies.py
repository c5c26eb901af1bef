"""Dependency providers: the services (built by `tickets.bootstrap`) and the authenticated actor."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from tickets.application.actors import Actor
from tickets.bootstrap import Services


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


# Where a guard leaves the actor it authenticated, so the request does not authenticate twice.
ACTOR_STATE_KEY = "actor"


async def provide_actor(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Actor:
    """The member the bearer token belongs to; 401 without a valid one.

    A token authenticated recently is answered on the event loop; only one that must be read from the
    store goes to a worker thread.
    """
    known = request.state.get(ACTOR_STATE_KEY)
    if isinstance(known, Actor):
        return known
    token = bearer_token(request)
    actor = services.directory.authenticated_recently(token)
    if actor is None:
        actor = await to_thread.run_sync(services.directory.authenticate, token)
    return admitted(request, actor)


async def uploader_before_body(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for uploads, whose bodies may be large: the token (401) and the role (403) are checked
    before the body is read, by the same rules as every request (`AttachmentService.require_uploader`)."""
    services: Services = connection.app.state.services
    actor = await to_thread.run_sync(authenticate, connection, services)
    services.attachments.require_uploader(actor)
    connection.state[ACTOR_STATE_KEY] = actor


def authenticate(connection: ASGIConnection[Any, Any, Any, Any], services: Services) -> Actor:
    """The member whose bearer token the request carries; 401 without a valid one."""
    return admitted(connection, services.directory.authenticate(bearer_token(connection)))


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The request's bearer token; 401 without one."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(
            detail="send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="pfai"'},
        )
    return token.strip()


def admitted(connection: ASGIConnection[Any, Any, Any, Any], actor: Actor | None) -> Actor:
    """The token's member, if the token is valid and opens this route; else 401 or 403."""
    if actor is None:
        raise NotAuthorizedException(
            detail="the API token is not valid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    # A token scoped to one ticket (an agent's dispatch token) reaches that ticket's routes only:
    # nothing org-wide (lists, members, settings) answers it. Another ticket is 404 (`TicketService`).
    route = str(connection.scope.get("path_template", ""))
    if not actor.org_wide and not route.startswith(SCOPED_ROUTES):
        actor.require_org_wide()
    # An integration token opens the routes of its scopes only.
    if actor.scopes and not any(route.startswith(SCOPE_ROUTES[scope]) for scope in actor.scopes):
        raise PermissionDeniedException(detail=f"this token is scoped to {', '.join(actor.scopes)} only")
    return actor


# The routes a ticket-scoped token may call: one ticket's.
SCOPED_ROUTES = "/api/v1/tickets/{ticket_ref"
# The routes each integration scope opens (`domain/registry.py` TOKEN_SCOPES).
SCOPE_ROUTES = {"events:read": "/api/v1/events"}
