"""The Litestar application factory."""

from __future__ import annotations

import logging

from litestar import Litestar, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.routes import HTTPRoute
from litestar.types import HTTPResponseStartEvent, Message, Scope

from tickets.api import schemas
from tickets.api.controllers.agents import AgentController, AgentDispatchController
from tickets.api.controllers.attachments import AttachmentController, TicketAttachmentController
from tickets.api.controllers.common import provide_paging
from tickets.api.controllers.contacts import ContactController, OrgController
from tickets.api.controllers.directory import MeController, TeamController, UserController
from tickets.api.controllers.events import EventFeedController
from tickets.api.controllers.inbox import InboxController
from tickets.api.controllers.issues import ConvertController, IssueController
from tickets.api.controllers.listing import TicketListController
from tickets.api.controllers.mail import MailAddressController
from tickets.api.controllers.portal import PortalApiController, PortalPages, template_config
from tickets.api.controllers.rules import RuleController
from tickets.api.controllers.settings import CannedResponseController, SlaPolicyController, TagController
from tickets.api.controllers.webhooks import WebhookController
from tickets.api.dependencies import provide_actor, provide_services
from tickets.api.openapi import docs_assets_router, openapi_config
from tickets.api.problems import EXCEPTION_HANDLERS
from tickets.api.query import CheckQueryParameters
from tickets.api.requests import ApiRequest
from tickets.bootstrap import Services, build_services, follower_of
from tickets.infrastructure.leadership import Job, Leadership

API_CONTROLLERS = [
    TicketListController,
    AttachmentController,
    MeController,
    UserController,
    TeamController,
    TagController,
    SlaPolicyController,
    CannedResponseController,
    ContactController,
    OrgController,
    MailAddressController,
    IssueController,
    InboxController,
    ConvertController,
    AgentController,
    AgentDispatchController,
    EventFeedController,
    WebhookController,
    RuleController,
    PortalApiController,
]


@get("/health", sync_to_thread=True, tags=["health"], summary="Liveness and store check (no token needed)")
def health(services: NamedDependency[Services]) -> schemas.Health:
    return schemas.Health(status="ok", store=services.store, head_position=services.app.head_position())


def create_app(services: Services, elect_follower: bool = False) -> Litestar:
    """A Litestar app over the given services.

    It runs the read side's follower (and with it every policy) itself, unless
    TICKETS_PROJECTIONS=external; with `elect_follower` on PostgreSQL, only while it leads the
    deployment's processes (`pfai serve`: one follower however many workers and servers).
    """
    follower = embedded_follower(services, elect_follower)

    def on_startup() -> None:
        if follower is not None:
            follower.start()

    def on_shutdown() -> None:
        if follower is not None:
            follower.stop()
        services.close()

    app = Litestar(
        route_handlers=[health, *API_CONTROLLERS, PortalPages, upload_router(services), docs_assets_router()],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "actor": Provide(provide_actor),
            "paging": Provide(provide_paging, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=ApiRequest,
        before_request=CheckQueryParameters(),
        state=State({"services": services}),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=openapi_config(),
        template_config=template_config(),
        before_send=[answer_options_with_every_method],
    )
    app.state.allowed_methods = {
        route.path_format: ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }
    return app


def embedded_follower(services: Services, elect: bool) -> Job | None:
    """What keeps this server's read models and policies going: nothing when workers run them
    (TICKETS_PROJECTIONS=external), a follower of its own, or, elected on PostgreSQL, a candidacy
    that runs a follower while this process leads."""
    if services.read_side is None or not services.embedded_projections:
        return None
    if elect and services.store == "postgresql":
        # uvicorn's logger, so the line shows among the server's own.
        announce = logging.getLogger("uvicorn.error").info
        return Leadership(services.app.env, "follower", lambda: follower_of(services), announce=announce)
    return follower_of(services)


def serve_app() -> Litestar:
    """The app of one `pfai serve` worker process (uvicorn's factory): the services over
    TICKETS_DATABASE_URL, the follower elected."""
    return create_app(build_services(), elect_follower=True)


# What a multipart upload adds to its files: boundaries and each part's headers (a long file name).
MULTIPART_OVERHEAD_PER_FILE = 64 * 1024


def upload_router(services: Services) -> Router:
    """The upload route, whose body may be as large as the attachment limits allow (other routes keep
    Litestar's 10 MB): more files or larger ones than the limits are answered by the service, with a
    413 that says which."""
    limits = services.attachments.limits
    return Router(
        path="/",
        route_handlers=[TicketAttachmentController],
        request_max_body_size=limits.max_files * (limits.max_file_bytes + MULTIPART_OVERHEAD_PER_FILE),
        opt={"max_files": limits.max_files},
    )


async def answer_options_with_every_method(message: Message, scope: Scope) -> None:
    """`Allow` on OPTIONS lists every method of the path.

    Litestar 2's automatic OPTIONS handler keeps the methods of the first handler registered on a
    path (litestar#4169, fixed in 3.0), so `OPTIONS /api/v1/teams` said `OPTIONS, POST`.
    """
    if message["type"] == "http.response.start" and scope.get("method") == "OPTIONS":
        allowed: dict[str, str] = scope["app"].state.allowed_methods
        methods = allowed.get(scope.get("path_template", ""))
        start: HTTPResponseStartEvent = message
        if methods and start["status"] == 204:
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"allow"]
            start["headers"] = [*headers, (b"allow", methods.encode())]
