"""`pfai inbox`: my notifications (assigned, mentioned, a contact's reply, an SLA breach, an issue done)."""

from __future__ import annotations

import click

from tickets.cli.client import path_segment
from tickets.cli.options import ClientCommand, api_client, examples
from tickets.cli.output import Column, emit, local_time, said, short_id, table

columns = [
    Column("ID", lambda r: short_id(r["id"]), narrow_only=True),
    Column("ID", lambda r: r["id"], wide_only=True, label="ID"),
    Column("", lambda r: " " if r["read"] else "*"),
    Column("WHAT", lambda r: r["summary"], flexible=True),
    Column("WHEN", lambda r: local_time(r["createdAt"])),
]


@click.command("inbox", cls=ClientCommand)
@click.option("--all", "show_all", is_flag=True, help="Read notifications too (default: unread only).")
@click.option(
    "--read", "read_ids", multiple=True, metavar="ID", help="Mark this notification read (repeatable)."
)
@click.option("--read-all", is_flag=True, help="Mark every notification read.")
@click.option(
    "--digest",
    type=click.Choice(["off", "hourly", "daily"]),
    help="Mail me my unread notifications once an hour or once a day (UTC), or not.",
)
@examples(
    "pfai inbox",
    "pfai inbox --all -o json",
    "pfai inbox --read 3f2a…",
    "pfai inbox --read-all",
    "pfai inbox --digest daily",
)
def inbox(show_all: bool, read_ids: tuple[str, ...], read_all: bool, digest: str | None) -> None:
    """List my notifications, newest first (* marks unread), or mark them read; choose an e-mail digest."""
    client = api_client()
    if digest is not None:
        me = client.patch("/me", {"notify": {"emailDigest": digest}})
        emit(
            {"emailDigest": me["notify"]["emailDigest"]},
            said(lambda r: f"E-mail digest: {r['emailDigest']}."),
        )
        return
    if read_all:
        client.post("/inbox/read-all", {})
        emit({"read": "all"}, said(lambda r: "Marked every notification read."))
        return
    if read_ids:
        for item in read_ids:
            client.post(f"/inbox/{path_segment(item)}/read", {})
        emit({"read": list(read_ids)}, said(lambda r: f"Marked {len(r['read'])} read."))
        return
    items = client.all_items("/inbox", {"unread": None if show_all else "true"})
    emit(items, table(columns, "Nothing new." if not show_all else "No notifications."))
