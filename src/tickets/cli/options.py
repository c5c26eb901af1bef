"""The options every client command accepts (connection and output), and the API client they produce.

They are accepted wherever they are written: on the root (`pfai --json ticket ls`), on a command group
(`pfai ticket --json ls`) and on each command (`pfai ticket ls --json`); the one written last wins. Connection settings come from, in order: `--server`/`--token`, then
`PFAI_SERVER`/`PFAI_TOKEN`, then the saved profile (`pfai login`). The client's command classes add
these options to every command and group made with them, and give its verbs kubectl-style aliases
(`ls`, `get`, `rm`).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from tickets.cli.client import ApiClient, CliError
from tickets.cli.config import load_config

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_FORMATS = ("table", "wide", "json", "yaml")
SERVER_ENV = "PFAI_SERVER"
TOKEN_ENV = "PFAI_TOKEN"
PROFILE_ENV = "PFAI_PROFILE"
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CLIENT_KEY = "pfai.client"


@dataclass
class Invocation:
    """What the options of this run asked for (None: not given)."""

    server: str | None = None
    token: str | None = None
    profile: str | None = None
    output: str | None = None
    json_fields: str | None = None  # "" for `--json` without field names
    query: str | None = None


def invocation() -> Invocation:
    """The options of the running `pfai` command."""
    return click.get_current_context().find_root().ensure_object(Invocation)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    written = ctx.get_parameter_source(param.name or "") is click.core.ParameterSource.COMMANDLINE
    if value is not None and written:
        setattr(ctx.find_root().ensure_object(Invocation), param.name or "", value)


def _check_json_fields(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    # `--json` takes an optional value, so `--json 42` would swallow a ticket number: say so plainly.
    if value and not all(FIELD_NAME.match(field.strip()) for field in value.split(",")):
        raise click.BadParameter(
            f"{value!r} is not a list of field names; write --json=id,subject or put --json last",
            ctx=ctx,
            param=param,
        )
    _remember(ctx, param, value)


def remembered(*names: str, callback: Callable[..., None] = _remember, **attrs: Any) -> click.Option:
    """An option whose value goes to the run's `Invocation` (where it was written does not matter)."""
    return click.Option(names, expose_value=False, callback=callback, **attrs)


# click keeps no state in a parameter, so these instances serve every client command and group.
CONNECTION_OPTIONS = [
    remembered("--server", metavar="URL", help=f"API server, e.g. http://127.0.0.1:8000 (env {SERVER_ENV})."),
    remembered("--token", metavar="TOKEN", help=f"API token (env {TOKEN_ENV})."),
    remembered(
        "--profile",
        metavar="NAME",
        help=f"Saved profile to use (env {PROFILE_ENV}; default: the last login).",
    ),
]

OUTPUT_OPTIONS = [
    remembered("-o", "--output", type=click.Choice(OUTPUT_FORMATS), help="Output format (default: table)."),
    remembered(
        "--json",
        "json_fields",
        metavar="[FIELDS]",
        is_flag=False,
        flag_value="",
        callback=_check_json_fields,
        help="Print JSON; with comma-separated field names, only those fields.",
    ),
    remembered(
        "--query",
        metavar="EXPR",
        help="JMESPath expression applied to the JSON before printing, e.g. '[].ticketNumber'.",
    ),
]


def with_options(options: Sequence[Callable[[Any], Any]]) -> Callable[[F], F]:
    """One decorator for several click options (and arguments), in the order they are listed."""

    def apply(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


def help_text(summary: str, *examples: str) -> str:
    """A command's help made from its summary and examples, as a docstring with `\\b Examples:` reads."""
    return f"{summary}\n\n\b\nExamples:\n" + "\n".join(f"  {example}" for example in examples)


def examples(*lines: str) -> Callable[[F], F]:
    """Put these examples under the help of the command whose function it decorates, as `help_text` does."""

    def add(function: F) -> F:
        function.__doc__ = help_text(inspect.cleandoc(function.__doc__ or ""), *lines)
        return function

    return add


class ClientCommand(click.Command):
    """A command that calls the API and prints what it gets: the client options follow its own.

    `login` takes only the output options (`connection=False`): it has its own `--server` and `--token`.
    """

    def __init__(self, *args: Any, connection: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [*(CONNECTION_OPTIONS if connection else []), *OUTPUT_OPTIONS]


class ClientGroup(click.Group):
    """A group of client commands, which takes the client options too (`pfai ticket --json ls`).

    Its commands can be registered with aliases: `@group.command("list", aliases=["ls"])`.
    """

    command_class = ClientCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [*CONNECTION_OPTIONS, *OUTPUT_OPTIONS]
        self.aliases: dict[str, str] = {}

    def command(  # type: ignore[override]
        self, *args: Any, aliases: Sequence[str] = (), **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Command]:
        decorator: Callable[[Callable[..., Any]], click.Command] = super().command(*args, **kwargs)

        def register(function: Callable[..., Any]) -> click.Command:
            command: click.Command = decorator(function)
            self.aliases.update(dict.fromkeys(aliases, command.name or ""))
            return command

        return register

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # Report the canonical name, so usage lines and errors say `list`, not `ls`.
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `--json` takes an optional value, so click would read `pfai --json ticket ls` as `--json=ticket`
        # followed by a command `ls`. Written right before one of the group's subcommands, it means
        # `--json` with no field list.
        args = list(args)
        for index, arg in enumerate(args[:-1]):
            if arg == "--json" and self.get_command(ctx, args[index + 1]) is not None:
                args[index] = "--json="
                break
            if not arg.startswith("-") and self.get_command(ctx, arg) is not None:
                break  # the rest belongs to the subcommand
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Each command with its aliases: `list, ls`.
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            label = ", ".join([name, *(alias for alias, to in self.aliases.items() if to == name)])
            rows.append((label, command.get_short_help_str(limit=formatter.width - 6 - len(label))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def resolve_connection() -> tuple[str, str | None]:
    """The server and token to use, from options, environment and the saved profile (in that order)."""
    options = invocation()
    profile_name = options.profile or os.environ.get(PROFILE_ENV) or None
    config = load_config()
    profile = config.profile(profile_name)
    if profile_name and profile is None:
        raise CliError(
            f"no saved profile {profile_name!r}; create it with `pfai login --profile {profile_name}`"
        )
    server = options.server or os.environ.get(SERVER_ENV) or (profile.server if profile else None)
    if not server:
        raise click.UsageError(
            f"no server given: pass --server URL, set {SERVER_ENV}, or run `pfai login --server URL --token T`"
        )
    server = checked_server_url(server)
    token = options.token or os.environ.get(TOKEN_ENV)
    # A saved token only goes to the server it was saved for.
    if token is None and profile is not None and profile.server.rstrip("/") == server:
        token = profile.token
    return server, token


def checked_server_url(server: str) -> str:
    """The server URL without a trailing slash; only http(s) URLs are accepted."""
    if not server.startswith(("http://", "https://")):
        raise click.UsageError(f"the server URL must start with http:// or https:// (got {server!r})")
    return server.rstrip("/")


def api_client() -> ApiClient:
    """A client for the configured server, closed when the command ends."""
    server, token = resolve_connection()
    if not token:
        raise click.UsageError(
            f"no API token for {server}: pass --token, set {TOKEN_ENV}, or run `pfai login`"
        )
    root = click.get_current_context().find_root()
    if CLIENT_KEY not in root.meta:
        root.meta[CLIENT_KEY] = root.with_resource(ApiClient(server, token))
    client: ApiClient = root.meta[CLIENT_KEY]
    return client
