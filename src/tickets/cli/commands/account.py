"""`pfai login`, `pfai logout` and `pfai whoami`: saved connection profiles."""

from __future__ import annotations

import os

import click

from tickets.cli.client import ApiClient, CliError
from tickets.cli.config import DEFAULT_PROFILE, Profile, load_config, save_config
from tickets.cli.options import (
    SERVER_ENV,
    TOKEN_ENV,
    ClientCommand,
    api_client,
    checked_server_url,
    examples,
    invocation,
)
from tickets.cli.output import Column, emit, record

# `/me` and the server it came from, as `Label:  value` lines.
describe_me = record(
    [
        Column("USER", lambda me: f"{me['user']['name']} <{me['user']['email']}>"),
        Column("HANDLE", lambda me: f"@{me['user']['handle']}"),
        Column("ROLE", lambda me: me["user"]["role"]),
        Column("ORG", lambda me: f"{me['org']['name']} ({me['org']['slug']})"),
        Column("SERVER", lambda me: me["server"]),
    ]
)


@click.command(cls=ClientCommand, connection=False)
@click.option("--server", metavar="URL", help=f"API server, e.g. http://127.0.0.1:8000 (env {SERVER_ENV}).")
@click.option("--token", metavar="TOKEN", help=f"API token (env {TOKEN_ENV}); asked for when not given.")
@click.option("--profile", default=DEFAULT_PROFILE, show_default=True, help="Name to save the profile under.")
@examples(
    'pfai login --server http://127.0.0.1:8000 --token "$TOKEN"',
    "pfai login --server https://tickets.example.com --profile prod",
    "pfai --profile prod ticket ls",
)
def login(server: str | None, token: str | None, profile: str) -> None:
    """Check a server and token, and save them as a profile for later commands.

    The profile is saved in the user's config directory (file mode 0600) and becomes the default.
    """
    options = invocation()
    config = load_config()
    saved = config.profile(profile)
    server = server or options.server or os.environ.get(SERVER_ENV) or (saved.server if saved else None)
    if not server:
        server = click.prompt("Server URL", default="http://127.0.0.1:8000", err=True)
    server = checked_server_url(server)
    secret = token or options.token or os.environ.get(TOKEN_ENV)
    secret = secret or click.prompt("API token", hide_input=True, err=True)
    with ApiClient(server, secret) as client:
        me = client.get("/me")
    config.profiles[profile] = Profile(server, secret)
    config.current = profile
    path = save_config(config)
    click.echo(f"Saved profile {profile!r} in {path}.", err=True)
    emit({**me, "server": server, "profile": profile}, describe_me)


@click.command()
@click.option("--profile", help="Profile to forget (default: the current one).")
@examples("pfai logout", "pfai logout --profile prod")
def logout(profile: str | None) -> None:
    """Forget a saved profile and its token."""
    config = load_config()
    name = profile or config.current
    if config.profiles.pop(name, None) is None:
        raise CliError(f"no saved profile {name!r}")
    if config.current == name:
        config.current = next(iter(config.profiles), DEFAULT_PROFILE)
    save_config(config)
    click.echo(f"Forgot profile {name!r}.", err=True)


@click.command(cls=ClientCommand)
@examples("pfai whoami", "pfai whoami --query user.handle")
def whoami() -> None:
    """Show who the token belongs to, in which org, on which server."""
    client = api_client()
    emit({**client.get("/me"), "server": client.server}, describe_me)
