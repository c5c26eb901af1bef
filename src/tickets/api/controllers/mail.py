"""The org's extra receiving addresses (the email channel); `<slug>@<mail domain>` needs none."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody, Parameter

from tickets.api import schemas
from tickets.api.controllers.common import written
from tickets.application.actors import Actor
from tickets.bootstrap import Services

AddressPath = Annotated[str, Parameter(max_length=254, description="The address, e.g. help@acme.example")]


class MailAddressController(Controller):
    path = "/api/v1/mail-addresses"
    tags = ["mail"]

    @get(
        "/",
        sync_to_thread=True,
        summary="The org's extra receiving addresses (admin)",
        raises=[PermissionDeniedException],
    )
    def list_addresses(
        self, services: NamedDependency[Services], actor: NamedDependency[Actor]
    ) -> list[schemas.MailAddressOut]:
        """Mail to these, and to the org's own `<slug>@<mail domain>`, becomes tickets and replies."""
        return [
            schemas.MailAddressOut(address=address, team_id=team_id)
            for address, team_id in services.directory.mail_addresses(actor)
        ]

    @post("/", sync_to_thread=True, status_code=201, summary="Receive mail at another address too (admin)")
    def add_address(
        self,
        data: JSONBody[schemas.MailAddressCreate],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[schemas.MailAddressOut]:
        """New tickets from it go to `teamId` if given. 409 if this org or another receives at it already;
        422 for an address at the mail domain itself (those are the orgs' own)."""
        saved = services.directory.add_mail_address(
            actor, data.address, data.team_id, services.mail_settings.domain
        )
        address, team_id = saved.value
        return written(schemas.MailAddressOut(address=address, team_id=team_id), saved, 201)

    @delete(
        "/{address:str}", sync_to_thread=True, status_code=204, summary="Stop receiving at an address (admin)"
    )
    def remove_address(
        self,
        address: FromPath[AddressPath],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[None]:
        saved = services.directory.remove_mail_address(actor, address)
        return written(None, saved, status_code=204)
