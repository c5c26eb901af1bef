"""Long text from the command line: an argument, a file, standard input or the user's editor."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tickets.cli.client import CliError


def read_file_or_stdin(path: str) -> str:
    """The text of a file, or of standard input for `-`."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from error


def read_text(text: str | None, file: str | None, *, what: str, editor: bool = False) -> str | None:
    """`text` if given, else the file (`-` = stdin), else piped stdin, else (if `editor`) the editor."""
    if text is not None and file is not None:
        raise click.UsageError(f"give the {what} either as text or with a file, not both")
    if text is not None:
        return text
    if file is not None:
        return read_file_or_stdin(file)
    if not sys.stdin.isatty():  # piped in
        return sys.stdin.read()
    if editor:
        edited = click.edit(f"\n# Write the {what} above. Lines starting with # are dropped.\n")
        if edited is None:
            return None
        return "\n".join(line for line in edited.splitlines() if not line.startswith("#")).strip()
    return None
