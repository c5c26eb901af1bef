"""Dependency providers: the services container and the authenticated actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from projections.runner import ReadSide
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.application.directory import DirectoryService
from tickets.application.tickets import TicketService
from tickets.infrastructure.clock import Clock


@dataclass
class Services:
    """Everything a request handler may call, built once per server."""

    app: TicketsApp
    directory: DirectoryService
    tickets: TicketService
    clock: Clock
    store: str
    # The read models (list, stats, SLA breaches); `embedded_projections`: the server follows the log itself.
    read_side: ReadSide | None = None
    embedded_projections: bool = True
    # Whether that embedded loop also records `sla_breached` events as deadlines pass.
    record_sla_breaches: bool = True
    # How long list and stats wait for the read models to include a position (read-your-writes).
    read_your_writes_timeout: float = 2.0


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def provide_actor(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Actor:
    """The member the bearer token belongs to; 401 without a valid one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException(
            detail="send an API token as 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="pfai"'},
        )
    actor = services.directory.authenticate(token.strip())
    if actor is None:
        raise NotAuthorizedException(
            detail="the API token is not valid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return actor
