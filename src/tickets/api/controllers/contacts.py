"""The org's contacts (the people who ask for help), their portal sign-in links, and the org's settings."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UnsetType

from projections.ticket_list import ListFilters
from tickets.api import presenters, schemas
from tickets.api.controllers.common import Cursor, Limit, written
from tickets.api.controllers.listing import READ_POSITION, _position_header, _read_side, read_position_of
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.application.actors import Actor
from tickets.bootstrap import Services
from tickets.domain.commands import KEEP
from tickets.domain.values import Role

ContactQuery = Annotated[
    str | None, QueryParameter(max_length=200, description="Part of the contact's e-mail or name (any case)")
]


def portal_url(request: Request[Any, Any, Any], path: str) -> str:
    """An absolute URL of this server's portal, as the caller reached the server."""
    return str(request.base_url).rstrip("/") + path


class ContactController(Controller):
    path = "/api/v1/contacts"
    tags = ["contacts"]

    @get(
        "/",
        sync_to_thread=True,
        dependencies={"read_position": Provide(read_position_of("contacts"))},
        summary="List contacts (paged, by e-mail; `q` searches e-mail and name)",
        raises=[ServiceUnavailableException],
    )
    def list_contacts(
        self,
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
        q: ContactQuery = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.Page[schemas.ContactOut]]:
        """Contacts saved in the org, and those only a ticket's e-mail names so far (older tickets)."""
        key = decode_cursor("contacts", cursor, str, size=2)
        after = (key[0], key[1]) if key else None
        records, next_after = _read_side(services).contacts(str(actor.org_id), q, after, limit)
        contacts = [services.contacts.find(actor.org_id, UUID(r.contact_id)) for r in records]
        body = schemas.Page(
            items=[presenters.contact(c) for c in contacts if c is not None],
            next_cursor=encode_cursor("contacts", *next_after) if next_after else None,
        )
        return Response(body, headers=_position_header(read_position))

    @post("/", sync_to_thread=True, status_code=201, summary="Add a contact (agents, admins)")
    def create_contact(
        self,
        data: JSONBody[schemas.ContactCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.ContactOut]:
        """A contact is unique by e-mail within the org (any case): a second one is a 409."""
        saved = services.contacts.create(actor, data.email, data.name)
        return written(presenters.contact(saved.value), saved, status_code=201)

    @get("/{contact_id:uuid}", sync_to_thread=True, summary="Read a contact")
    def get_contact(
        self, contact_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> schemas.ContactOut:
        return presenters.contact(services.contacts.get(actor, contact_id))

    @patch("/{contact_id:uuid}", sync_to_thread=True, summary="Rename a contact (agents, admins)")
    def update_contact(
        self,
        contact_id: FromPath[UUID],
        data: JSONBody[schemas.ContactUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.ContactOut]:
        """The e-mail is the contact's identity and does not change; a ticket moves to another contact instead."""
        if isinstance(data.name, str):
            saved = services.contacts.rename(actor, contact_id, data.name)
            return written(presenters.contact(saved.value), saved)
        actor.require(Role.AGENT)
        return Response(presenters.contact(services.contacts.get(actor, contact_id)))

    @get(
        "/{contact_id:uuid}/tickets",
        sync_to_thread=True,
        dependencies=READ_POSITION,
        summary="The contact's tickets (paged, newest first)",
        raises=[ServiceUnavailableException],
    )
    def contact_tickets(
        self,
        contact_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        read_position: NamedDependency[int],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.Page[schemas.TicketListItem]]:
        contact = services.contacts.get(actor, contact_id)
        sort = "-createdAt"
        key = decode_cursor(sort, cursor, int, size=2)
        after = (key[0], key[1]) if key else None
        org = services.directory.org(actor.org_id)
        now = services.clock()
        filters = ListFilters(
            contact_emails=[contact.email],
            hidden_team_ids=sorted(org.hidden_team_ids(actor.user_id, actor.role)),
        )
        page = _read_side(services).list_tickets(str(actor.org_id), filters, now, sort, after, limit)
        body = schemas.Page(
            items=[presenters.ticket_list_item(row, org, now) for row in page.rows],
            next_cursor=encode_cursor(sort, *page.next_after) if page.next_after else None,
        )
        return Response(body, headers=_position_header(read_position))

    @post(
        "/{contact_id:uuid}/portal-links",
        sync_to_thread=True,
        status_code=201,
        summary="Issue a portal sign-in link for the contact (agents, admins)",
    )
    def issue_portal_link(
        self,
        contact_id: FromPath[UUID],
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.PortalLinkOut]:
        """The link works once, for 30 minutes (`TICKETS_PORTAL_LINK_MINUTES`); give it to the contact."""
        saved = services.contacts.issue_link(actor, contact_id)
        url = portal_url(request, f"/portal/sign-in/{saved.value.token}")
        return written(
            schemas.PortalLinkOut(url=url, expires_at=saved.value.expires_at), saved, status_code=201
        )

    @delete(
        "/{contact_id:uuid}/portal-sessions",
        sync_to_thread=True,
        status_code=204,
        summary="Sign the contact out of the portal everywhere (agents, admins)",
    )
    def revoke_portal_sessions(
        self, contact_id: FromPath[UUID], services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> Response[None]:
        saved = services.contacts.revoke_sessions(actor, contact_id)
        return written(None, saved, status_code=204)


class OrgController(Controller):
    path = "/api/v1/org"
    tags = ["identity"]

    @get("/", sync_to_thread=True, summary="The caller's org and its settings")
    def get_org(self, services: NamedDependency[Services], actor: NamedDependency[Actor]) -> schemas.OrgOut:
        return presenters.org(services.directory.org(actor.org_id), services.mail_settings.domain)

    @patch("/", sync_to_thread=True, summary="Change the org's settings (admin)")
    def update_org(
        self,
        data: JSONBody[schemas.OrgUpdate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.OrgOut]:
        """`autoCloseAfterDays` (1-365, default 7): how long a resolved ticket waits for its contact;
        `acknowledgeNewTickets` (default true): a receipt e-mail for each new emailed or portal ticket;
        `slaWarningPercent` (1-99 or null, default 80): when assignees are warned of a coming SLA breach."""
        days = data.auto_close_after_days if isinstance(data.auto_close_after_days, int) else None
        acknowledge = data.acknowledge_new_tickets if isinstance(data.acknowledge_new_tickets, bool) else None
        warning = KEEP if isinstance(data.sla_warning_percent, UnsetType) else data.sla_warning_percent
        saved = services.directory.update_org_settings(actor, days, acknowledge, warning)
        return written(presenters.org(saved.value, services.mail_settings.domain), saved)
