"""`pfai admin`: operator commands that act directly on the store named by TICKETS_DATABASE_URL."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from tickets.cli.options import examples
from tickets.cli.store import store
from tickets.domain.registry import TOKEN_SCOPES
from tickets.domain.values import Role


@click.group()
@examples(
    'pfai admin create-org acme --name "Acme Inc" --admin-email alice@acme.test',
    "pfai admin create-user --org acme --email bob@acme.test --name Bob --role agent --json",
    "pfai admin revoke-token pfai_3kq...",
)
def admin() -> None:
    """Create orgs and users directly in the store (TICKETS_DATABASE_URL)."""


def _emit(as_json: bool, org_id: object, user_id: object, token: str, what: str) -> None:
    if as_json:
        click.echo(json.dumps({"orgId": str(org_id), "userId": str(user_id), "token": token}))
    else:
        click.echo(f"{what}\n  org id:  {org_id}\n  user id: {user_id}\n  token:   {token}")
        click.echo("Keep the token: it is shown only once.", err=True)


@admin.command("create-org")
@click.argument("slug")
@click.option("--name", required=True, help="Display name of the org.")
@click.option("--admin-email", required=True, help="E-mail of the org's first admin.")
@click.option("--admin-name", default=None, help="Name of the first admin (default: the e-mail).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with orgId, userId, token.")
@examples(
    'pfai admin create-org acme --name "Acme Inc" --admin-email alice@acme.test',
    "TOKEN=$(pfai admin create-org acme --name Acme --admin-email alice@acme.test --json | jq -r .token)",
)
def create_org(slug: str, name: str, admin_email: str, admin_name: str | None, as_json: bool) -> None:
    """Create an org and its first admin, and print the admin's new API token."""
    with store() as services:
        created = services.directory.create_org(slug, name, admin_email, admin_name)
    _emit(as_json, created.org_id, created.user_id, created.token, f"Created org {slug!r}.")


@admin.command("create-user")
@click.option("--org", "org_slug", required=True, help="Slug of the org.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value, show_default=True
)
@click.option("--handle", default=None, help="@handle for mentions (default: the e-mail's local part).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with orgId, userId, token.")
@examples(
    "pfai admin create-user --org acme --email bob@acme.test --name Bob",
    "pfai admin create-user --org acme --email vic@acme.test --name Vic --role viewer --json",
)
def create_user(org_slug: str, email: str, name: str, role: str, handle: str | None, as_json: bool) -> None:
    """Add a member to an org and print their new API token."""
    with store() as services:
        org_id = services.directory.org_id_for_slug(org_slug)
        created = services.directory.create_user(org_id, email, name, Role(role), handle)
    _emit(as_json, created.org_id, created.user_id, created.token, f"Added {email} to {org_slug!r}.")


@admin.command("create-token")
@click.option("--org", "org_slug", required=True, help="Slug of the org.")
@click.option("--email", required=True, help="The admin the token acts for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(list(TOKEN_SCOPES)),
    help="What it opens.",
)
@click.option(
    "--expires-days", type=click.IntRange(1, 3650), default=None, help="Days until it stops working."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the token.")
@examples("pfai admin create-token --org acme --email alice@acme.test --scope events:read --expires-days 365")
def create_token(
    org_slug: str, email: str, scopes: tuple[str, ...], expires_days: int | None, as_json: bool
) -> None:
    """Create an integration token that opens only its scopes (events:read: the event feed and its
    stream), for an admin of the org; printed once, stored as its hash, revocable."""
    with store() as services:
        org_id = services.directory.org_id_for_slug(org_slug)
        expires = services.clock() + timedelta(days=expires_days) if expires_days else None
        token = services.directory.scoped_token(org_id, email, list(scopes), expires)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "token": token,
                    "scopes": sorted(set(scopes)),
                    "expiresAt": expires.isoformat() if expires else None,
                }
            )
        )
    else:
        click.echo(
            f"token:   {token}\nscopes:  {', '.join(sorted(set(scopes)))}\nexpires: {expires or 'never'}"
        )
        click.echo("Keep the token: it is shown only once.", err=True)


@admin.command("revoke-token")
@click.argument("token")
def revoke_token(token: str) -> None:
    """Revoke an API token: requests with it answer 401 from now on.

    \b
    Example:
      pfai admin revoke-token pfai_3kq...
    """
    with store() as services:
        services.directory.revoke_token(token)
    click.echo("Token revoked.")


@admin.command("sweep-attachments")
def sweep_attachments() -> None:
    """Remove the stored bytes that no live attachment uses any more: discarded (unused for a day),
    on deleted messages or tickets. Bytes stored in the last hour are left alone. Run it now and then
    (cron); any server of the store may.

    \b
    Example:
      pfai admin sweep-attachments
    """
    with store() as services:
        result = services.attachments.sweep()
    click.echo(f"Removed {len(result.removed)} unused blob(s); kept {result.kept} in use.")
