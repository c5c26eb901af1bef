"""`pfai issue` (engineering issues) and `pfai ticket convert` (a ticket into an issue)."""

from __future__ import annotations

from typing import Any

import click

from tickets.cli.client import path_segment
from tickets.cli.options import ClientCommand, ClientGroup, api_client, examples
from tickets.cli.output import Column, emit, local_time, or_dash, record, said, table
from tickets.domain.values import IssueStatus, Priority

ISSUE = "ISSUE"  # a number (7, #7) or an id
STATUSES = click.Choice([s.value for s in IssueStatus])
PRIORITIES = click.Choice([p.value for p in Priority])

columns = [
    Column("#", lambda r: str(r["issueNumber"])),
    Column("STATUS", lambda r: r["status"]),
    Column("PRIORITY", lambda r: r["priority"]),
    Column("TITLE", lambda r: r["title"], flexible=True),
    Column("UPDATED", lambda r: local_time(r["updatedAt"])),
]


def _said_issue(verb: str) -> Any:
    return said(lambda r: f"{verb} issue #{r['issueNumber']}: {r['title']}")


@click.group("issue", cls=ClientGroup)
@examples(
    "pfai issue ls --status in_progress",
    'pfai issue create --title "Export crashes on empty rows" --priority high',
    "pfai issue update 7 --status done",
    "pfai ticket convert 42",
)
def issue() -> None:
    """Manage engineering issues: the work a ticket can turn into (its own statuses and numbers).

    An issue is named by its number (7 or #7) or its id.
    """


@issue.command("list", aliases=["ls"])
@click.option("--status", type=STATUSES, help="Only issues with this status.")
@click.option("--assignee", metavar="USER_ID", help="Only this member's issues; `none` for unassigned.")
@examples("pfai issue ls", "pfai issue ls --status todo", "pfai issue ls --assignee none -o json")
def list_issues(status: str | None, assignee: str | None) -> None:
    """List issues, newest first."""
    items = api_client().all_items("/issues", {"status": status, "assigneeId": assignee})
    emit(items, table(columns, "No issues."))


@issue.command("view", aliases=["get"])
@click.argument("ref", metavar=ISSUE)
@examples("pfai issue view 7", "pfai issue get 7 -o json")
def view_issue(ref: str) -> None:
    """Show an issue, with the tickets linked to it."""
    found = api_client().get(f"/issues/{path_segment(ref)}")
    linked = Column("TICKETS", lambda r: or_dash(", ".join(t[:8] for t in r["ticketIds"])))
    emit(found, record([*columns, linked, Column("DESCRIPTION", lambda r: or_dash(r["description"]))]))


@issue.command("create")
@click.option("--title", required=True, help="What is to be done.")
@click.option("--description", default="", help="Markdown.")
@click.option("--priority", type=PRIORITIES, default="medium", show_default=True, help="Priority.")
@examples('pfai issue create --title "Export crashes on empty rows" --priority high')
def create_issue(title: str, description: str, priority: str) -> None:
    """Create an issue (in the backlog)."""
    created = api_client().post("/issues", {"title": title, "description": description, "priority": priority})
    emit(created, _said_issue("Created"))


@issue.command("update")
@click.argument("ref", metavar=ISSUE)
@click.option("--title", help="A new title.")
@click.option("--status", type=STATUSES, help="A new status (done tells its linked tickets).")
@click.option("--priority", type=PRIORITIES, help="A new priority.")
@examples("pfai issue update 7 --status in_progress", "pfai issue update 7 --status done")
def update_issue(ref: str, title: str | None, status: str | None, priority: str | None) -> None:
    """Change an issue."""
    changes = {
        k: v for k, v in {"title": title, "status": status, "priority": priority}.items() if v is not None
    }
    if not changes:
        raise click.UsageError("give at least one of --title, --status, --priority")
    emit(api_client().patch(f"/issues/{path_segment(ref)}", changes), _said_issue("Updated"))


@click.command("convert", cls=ClientCommand)
@click.argument("ref", metavar="TICKET")
@click.option("--title", help="The issue's title (default: the ticket's subject).")
@examples("pfai ticket convert 42", 'pfai ticket convert 42 --title "Export crashes on empty rows"')
def convert_ticket(ref: str, title: str | None) -> None:
    """Convert a ticket into an engineering issue linked to it."""
    body = {"title": title} if title else {}
    emit(api_client().post(f"/tickets/{path_segment(ref)}/convert-to-issue", body), _said_issue("Created"))
