"""Pieces shared by the resource commands: deleting with confirmation."""

from __future__ import annotations

from collections.abc import Callable

import click

from tickets.cli.client import path_segment
from tickets.cli.options import api_client
from tickets.cli.output import emit, said


def delete_items(
    kind: str, api_path: str, refs: tuple[str, ...], resolve: Callable[[str], str], yes: bool
) -> None:
    """Resolve every reference first (so a typo deletes nothing), confirm, then delete."""
    client = api_client()
    ids = [resolve(ref) for ref in refs]
    if not yes:
        click.confirm(f"Delete {kind} {', '.join(refs)}?", abort=True, err=True)
    for item_id in ids:
        client.delete(f"{api_path}/{path_segment(item_id)}")
    emit({"deleted": ids}, said(lambda d: f"Deleted {kind} {', '.join(refs)}."))


yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
