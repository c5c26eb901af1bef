"""Dependency providers: the services (built by `tickets.bootstrap`) and the authenticated actor."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException

from tickets.application.actors import Actor
from tickets.bootstrap import Services


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
