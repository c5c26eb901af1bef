"""`pfai completion`: the shell completion script (click's own completion)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from tickets.cli.options import examples

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@examples(
    'eval "$(pfai completion bash)"                 # in ~/.bashrc',
    'eval "$(pfai completion zsh)"                  # in ~/.zshrc',
    "pfai completion fish > ~/.config/fish/completions/pfai.fish",
)
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL."""
    ctx = click.get_current_context()
    root = ctx.find_root().command
    completion_class = get_completion_class(shell)
    if completion_class is None:  # pragma: no cover - the Choice only offers supported shells
        raise click.UsageError(f"no completion for {shell}")
    script = completion_class(root, {}, "pfai", "_PFAI_COMPLETE").source()
    click.echo(script)
