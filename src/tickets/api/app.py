"""The Litestar application factory."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from projections.runner import Follower
from tickets.api import schemas
from tickets.api.controllers.common import provide_paging
from tickets.api.controllers.directory import MeController, TeamController, UserController
from tickets.api.controllers.listing import TicketListController
from tickets.api.controllers.settings import CannedResponseController, SlaPolicyController, TagController
from tickets.api.dependencies import Services, provide_actor, provide_services
from tickets.api.problems import EXCEPTION_HANDLERS
from tickets.api.query import RejectUnknownQueryParameters
from tickets.api.requests import ApiRequest

API_CONTROLLERS = [
    TicketListController,
    MeController,
    UserController,
    TeamController,
    TagController,
    SlaPolicyController,
    CannedResponseController,
]


@get("/health", sync_to_thread=True, tags=["health"], summary="Liveness and store check (no token needed)")
def health(services: NamedDependency[Services]) -> schemas.Health:
    return schemas.Health(status="ok", store=services.store, head_position=services.app.head_position())


def create_app(services: Services) -> Litestar:
    """A Litestar app over the given services."""

    follower = (
        Follower(services.read_side, record_breaches=services.record_sla_breaches)
        if services.read_side is not None and services.embedded_projections
        else None
    )

    def on_startup() -> None:
        # Embedded default: the server keeps its read models at the head of the log itself.
        if follower is not None:
            follower.start()

    def on_shutdown() -> None:
        if follower is not None:
            follower.stop()
        if services.read_side is not None:
            services.read_side.close()
        services.app.close()

    return Litestar(
        route_handlers=[health, *API_CONTROLLERS],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=True),
            "paging": Provide(provide_paging, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=ApiRequest,
        before_request=RejectUnknownQueryParameters(),
        state=State({"services": services}),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=OpenAPIConfig(
            title="pfai tickets",
            version="1.0.0",
            description="Event-sourced customer-support tickets. Errors are RFC 9457 problem+json.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
    )
