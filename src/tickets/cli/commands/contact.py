"""`pfai contact` (the people who ask for help) and `pfai portal-link` (their portal sign-in)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import click
from rich.console import Console

from tickets.cli.client import ApiClient, path_segment
from tickets.cli.options import ClientCommand, ClientGroup, api_client, examples
from tickets.cli.output import Column, emit, local_time, or_dash, record, said, short_id, table

CONTACT = "CONTACT"  # an e-mail address or an id

columns = [
    Column("ID", lambda r: short_id(r["id"]), narrow_only=True),
    Column("ID", lambda r: r["id"], wide_only=True, label="ID"),
    Column("EMAIL", lambda r: r["email"]),
    Column("NAME", lambda r: r["name"], flexible=True),
    Column("SINCE", lambda r: local_time(r["createdAt"])),
]


def contact_id(client: ApiClient, ref: str) -> str:
    """A contact's id from its id or its e-mail address (any case)."""
    try:
        return str(UUID(ref))
    except ValueError:
        pass
    wanted = ref.strip().lower()
    for contact in client.all_items("/contacts", {"q": wanted}):
        if contact["email"] == wanted:
            return str(contact["id"])
    raise click.ClickException(f"no contact {ref!r}: give an e-mail address or an id (pfai contact ls)")


@click.group("contact", cls=ClientGroup)
@examples(
    "pfai contact ls --search example.com",
    'pfai contact create cara@example.com --name "Cara Jones"',
    "pfai contact view cara@example.com",
    "pfai portal-link cara@example.com",
)
def contact() -> None:
    """Manage contacts: the people outside the org who ask for help.

    A contact is named by its e-mail address or its id.
    """


@contact.command("list", aliases=["ls"])
@click.option("--search", "-s", metavar="TEXT", help="Part of the e-mail address or name.")
@examples("pfai contact ls", "pfai contact ls --search example.com", "pfai contact ls -o json")
def list_contacts(search: str | None) -> None:
    """List contacts, by e-mail address."""
    emit(api_client().all_items("/contacts", {"q": search}), table(columns, "No contacts."))


@contact.command("view", aliases=["get"])
@click.argument("ref", metavar=CONTACT)
@examples("pfai contact view cara@example.com", "pfai contact get 0c5e2a1f-…")
def view_contact(ref: str) -> None:
    """Show a contact."""
    client = api_client()
    found = client.get(f"/contacts/{path_segment(contact_id(client, ref))}")
    signed = Column(
        "SIGN-IN ASKED", lambda r: or_dash(r["signInRequestedAt"] and local_time(r["signInRequestedAt"]))
    )
    emit(found, record([*columns, signed]))


@contact.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The contact's name, as agents and the portal show it.")
@examples('pfai contact create cara@example.com --name "Cara Jones"')
def create_contact(email: str, name: str) -> None:
    """Add a contact (an address already known is refused)."""
    created = api_client().post("/contacts", {"email": email, "name": name})
    emit(created, said(lambda r: f"Created contact {r['email']} ({r['id']})."))


@contact.command("update")
@click.argument("ref", metavar=CONTACT)
@click.option("--name", required=True, help="The new name.")
@examples('pfai contact update cara@example.com --name "Cara J."')
def update_contact(ref: str, name: str) -> None:
    """Rename a contact (the e-mail address is the contact's identity and stays)."""
    client = api_client()
    changed = client.patch(f"/contacts/{path_segment(contact_id(client, ref))}", {"name": name})
    emit(changed, said(lambda r: f"Renamed contact {r['email']} to {r['name']}."))


@click.command("portal-link", cls=ClientCommand)
@click.argument("ref", metavar=CONTACT)
@examples("pfai portal-link cara@example.com", "pfai portal-link cara@example.com -o json")
def portal_link(ref: str) -> None:
    """Print a single-use portal sign-in link for a contact (valid for 30 minutes)."""
    client = api_client()
    issued = client.post(f"/contacts/{path_segment(contact_id(client, ref))}/portal-links", {})
    emit(issued, print_link)


def print_link(console: Console, issued: Any, wide: bool) -> None:
    # The link on a line of its own, never wrapped (a wrapped link, copied, would not work).
    click.echo(issued["url"])
    console.print(f"(single use; expires {local_time(issued['expiresAt'], relative=False)})")
