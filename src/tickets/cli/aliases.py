"""kubectl-style verbs: a click group whose commands answer to short aliases (`ls`, `get`, `rm`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click


class AliasedGroup(click.Group):
    """A group whose commands can be registered with aliases: `@group.command("list", aliases=["ls"])`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aliases: dict[str, str] = {}

    def command(  # type: ignore[override]
        self, *args: Any, aliases: Sequence[str] = (), **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Command]:
        decorator: Callable[[Callable[..., Any]], click.Command] = super().command(*args, **kwargs)

        def register(function: Callable[..., Any]) -> click.Command:
            command: click.Command = decorator(function)
            for alias in aliases:
                self.aliases[alias] = command.name or ""
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        by_command: dict[str, list[str]] = {}
        for alias, name in self.aliases.items():
            by_command.setdefault(name, []).append(alias)
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            label = ", ".join([name, *by_command.get(name, [])])
            rows.append((label, command.get_short_help_str(limit=formatter.width - 6 - len(label))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
