"""`pfai ticket`: list, view, create, update, delete, reply, note, history and stats."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.rule import Rule
from rich.text import Text

from tickets.cli.client import path_segment
from tickets.cli.commands.common import delete_items, yes_option
from tickets.cli.directory import Directory
from tickets.cli.inputs import read_text
from tickets.cli.options import ClientGroup, F, api_client, examples, help_text, with_options
from tickets.cli.output import (
    PRIORITY_STYLES,
    STATUS_STYLES,
    Cell,
    Column,
    Row,
    TableRenderer,
    age,
    emit,
    local_time,
    local_times,
    note,
    or_dash,
    parse_time,
    print_fields,
    print_table,
    relative_time,
    said,
    span,
    styled,
    table,
)
from tickets.domain.values import Category, Priority, Source, Status

STATUSES = [s.value for s in Status]
PRIORITIES = [p.value for p in Priority]
CATEGORIES = [c.value for c in Category]
SOURCES = [s.value for s in Source]
DEFAULT_PAGE_SIZE = 50


@click.group(cls=ClientGroup)
@examples(
    "pfai ticket list --status open --priority high",
    "pfai ticket view 42",
    'pfai ticket create --subject "Login broken" --priority high --category technical',
    "pfai ticket update 42 --status resolved --assignee alice",
    'pfai ticket reply 42 "We shipped a fix in v1.4.3, please try again."',
)
def ticket() -> None:
    """Work with tickets: list, view, create, update, reply, history.

    A ticket is named by its number (42 or #42) or its id.
    """


def ticket_path(ref: str, *rest: str) -> str:
    """The API path of a ticket (by number, `#number` or id) and optional sub-resource."""
    cleaned = ref.strip().removeprefix("#")
    if not cleaned:
        raise click.BadParameter("a ticket number or id is required")
    return "/".join(["/tickets", path_segment(cleaned), *rest])


def ref_label(ref: str) -> str:
    """How a ticket reference reads in messages: `#42` for a number, the id as given otherwise."""
    cleaned = ref.strip().removeprefix("#")
    return f"#{cleaned}" if cleaned.isdigit() else cleaned


def ticket_label(value: Row) -> str:
    return f"#{value['ticketNumber']}"


# ----------------------------------------------------------------------------- cells


def sla_cell(row: Row) -> Text:
    """`BREACHED`, paused, or how long until the SLA deadline (the server gives one only while the clock runs)."""
    if row.get("slaBreached"):
        return Text("BREACHED", style="bold red")
    if row.get("slaPausedAt"):
        left = row.get("slaRemainingSeconds")
        return Text("paused" + (f" ({span(left)} left)" if left is not None else ""))
    deadline = parse_time(row.get("slaDeadline"))
    if deadline is None:
        return Text("-")
    remaining = (deadline - datetime.now(UTC)).total_seconds()
    return Text(
        f"in {span(remaining)}" if remaining > 0 else "due", style="yellow" if remaining < 3600 else ""
    )


def ticket_columns(directory: Directory) -> list[Column]:
    """Columns of the ticket list; the list gives `assigneeId` and `teamId`, shown by name."""
    return [
        Column("#", lambda r: str(r["ticketNumber"]), justify="right"),
        Column("SUBJECT", lambda r: r["subject"], flexible=True),
        Column("STATUS", lambda r: styled(r["status"], STATUS_STYLES)),
        Column("PRIORITY", lambda r: styled(r["priority"], PRIORITY_STYLES)),
        Column("CATEGORY", lambda r: r["category"], wide_only=True),
        Column("ASSIGNEE", lambda r: directory.member_label(r.get("assigneeId"))),
        Column("TEAM", lambda r: directory.team_name(r.get("teamId")), wide_only=True),
        Column("TAGS", lambda r: ",".join(t["name"] for t in r.get("tags") or []) or "-", wide_only=True),
        Column("CONTACT", lambda r: or_dash(r.get("contactEmail") or r.get("contactName")), wide_only=True),
        Column("SLA", sla_cell),
        Column("AGE", lambda r: age(r.get("createdAt")), justify="right"),
        Column("UPDATED", lambda r: age(r.get("updatedAt")), wide_only=True, justify="right"),
        Column("ID", lambda r: r["id"], wide_only=True),
    ]


# ----------------------------------------------------------------------------- the ticket fields


@dataclass(frozen=True)
class Field:
    """A ticket field as the commands take it: its option, its API name, and how a value is sent."""

    option: str
    api: str
    choices: Sequence[str] | None = None
    metavar: str | None = None
    # The kind of item (`member`, `team`, `tag`) whose name (`alice`) is sent as its id.
    lookup: str | None = None
    # The commands in which `none` means no value: `list` filters on it, `update` clears the field.
    none_in: tuple[str, ...] = ()
    # The list's query parameter, when it is not the API name.
    filter: str | None = None

    def option_for(self, command: str, help: str | None) -> Callable[[F], F]:
        return click.option(
            self.option,
            type=click.Choice(self.choices) if self.choices else None,
            metavar=self.metavar,
            multiple=command == "list" or self.api == "tagIds",
            required=command == "create" and self.api == "subject",
            help=help,
        )

    def value(self, directory: Directory, given: str, command: str) -> str | None:
        if command in self.none_in and given.strip().lower() == "none":
            return "none" if command == "list" else None
        return directory.id_of(self.lookup, given) if self.lookup else given


FIELDS = {
    field.option.removeprefix("--").replace("-", "_"): field
    for field in (
        Field("--subject", "subject"),
        Field("--description", "description"),
        Field("--status", "status", STATUSES),
        Field("--priority", "priority", PRIORITIES),
        Field("--category", "category", CATEGORIES),
        Field("--source", "source", SOURCES),
        Field("--assignee", "assigneeId", None, "WHO", "member", none_in=("list", "update")),
        Field("--team", "teamId", None, "TEAM", "team", none_in=("update",)),
        Field("--tag", "tagIds", None, "TAG", "tag", filter="tag"),
        Field("--contact-email", "contactEmail", metavar="EMAIL"),
        Field("--contact-name", "contactName", metavar="NAME"),
    )
}


def field_options(command: str, helps: Mapping[str, str | None]) -> Callable[[F], F]:
    """The options of these fields, in this order and with these helps, as `command` takes them."""
    return with_options([FIELDS[name].option_for(command, help) for name, help in helps.items()])


def api_values(directory: Directory, command: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The fields given, under their API names, with names looked up (an empty name is no name)."""
    values: dict[str, Any] = {}
    for name, value in given.items():
        field = FIELDS[name]
        if value is None or value == () or (value == "" and field.lookup):
            continue
        key = field.filter or field.api if command == "list" else field.api
        many = isinstance(value, tuple)
        found = [field.value(directory, one, command) for one in (value if many else [value])]
        values[key] = found if many else found[0]
    return values


# ----------------------------------------------------------------------------- list


LIST_FILTERS = {
    "status": "Only this status (repeatable).",
    "priority": "Only this priority (repeatable).",
    "category": "Only this category (repeatable).",
    "source": "Only this channel (repeatable).",
    "assignee": "@handle, e-mail, `me`, or `none` for unassigned (repeatable).",
    "team": "Team name or id (repeatable).",
    "tag": "Tag name or id (repeatable).",
    "contact_email": "Only tickets of this requester.",
}


@ticket.command("list", aliases=["ls"])
@field_options("list", LIST_FILTERS)
@click.option("--q", "q", metavar="WORDS", help="Words that must all appear in subject or description.")
@click.option("--breached", flag_value="true", default=None, help="Only tickets past their SLA deadline.")
@click.option(
    "--sort",
    metavar="ORDER",
    help="createdAt, updatedAt, priority or slaDeadline; a leading '-' for descending (default: -createdAt).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 200),
    default=DEFAULT_PAGE_SIZE,
    show_default=True,
    help="Tickets per page.",
)
@click.option(
    "--updated-since",
    "updatedSince",
    metavar="TIME",
    help="Only tickets changed at or after this RFC 3339 time, e.g. 2026-01-05T09:00:00Z.",
)
@click.option("--all", "every_page", is_flag=True, help="Follow every page, not only the first.")
@click.option(
    "--queue", metavar="TEAM", help="A team's queue: its unassigned tickets (= --team TEAM --assignee none)."
)
@examples(
    "pfai ticket ls",
    "pfai ticket ls --queue support --status open",
    "pfai ticket list --status open --priority high",
    "pfai ticket ls --assignee me --breached",
    "pfai ticket ls --assignee none --team support --tag regression",
    "pfai ticket ls --status open --status pending --sort -priority",
    'pfai ticket ls --q "password reset" --all -o json',
    "pfai ticket ls --query '[].ticketNumber'",
)
def list_tickets(every_page: bool, queue: str | None, **given: Any) -> None:
    """List tickets, newest first unless --sort says otherwise.

    Several values of one filter are alternatives; different filters must all hold.
    """
    directory = Directory(api_client())
    # Besides the field filters, the options are named as the query parameters they are.
    filters = {name: given.pop(name) for name in LIST_FILTERS}
    if queue is not None:
        if filters.get("team") or filters.get("assignee"):
            raise click.UsageError("--queue is --team TEAM --assignee none: give it alone")
        filters["team"], filters["assignee"] = (queue,), ("none",)
    params = api_values(directory, "list", filters) | given
    pages = list(directory.client.pages("/tickets", params, follow=every_page))
    items = [item for page in pages for item in page["items"]]
    emit(items, table(ticket_columns(directory), "No tickets found."))
    if pages[-1].get("nextCursor"):
        note(f"Showing the first {len(items)} tickets; use --all for every page.")


# ----------------------------------------------------------------------------- view


@ticket.command("view", aliases=["get"])
@click.argument("ref", metavar="TICKET")
@click.option("--activities", is_flag=True, help="Also show the timeline of changes.")
@click.option("--no-thread", is_flag=True, help="Leave out the messages.")
@examples(
    "pfai ticket view 42",
    "pfai ticket get 42 --activities",
    "pfai ticket view 42 -o yaml",
    "pfai ticket view 42 --json subject,status,assignee",
    "pfai ticket view 42 --query 'messages[?isInternalNote].content'",
)
def view_ticket(ref: str, activities: bool, no_thread: bool) -> None:
    """Show a ticket with its thread (public replies and internal notes).

    In JSON the ticket carries `messages` (and `activities` with --activities).
    """
    directory = Directory(api_client())
    value: dict[str, Any] = directory.client.get(ticket_path(ref))
    for part, wanted in (("messages", not no_thread), ("activities", activities)):
        if wanted:
            value[part] = directory.client.all_items(ticket_path(str(value["id"]), part))
    emit(value, lambda console, data, wide: describe_ticket(console, data, directory))


def describe_ticket(console: Console, value: Row, directory: Directory) -> None:
    title = Text(f"{ticket_label(value)}  ", style="bold")
    title.append(value["subject"], style="bold")
    console.print(title)
    console.print()
    email = value.get("contactEmail")
    contact = " ".join(part for part in (value.get("contactName"), email and f"<{email}>") if part)
    creator = value.get("creator")
    fields: list[tuple[str, Cell]] = [
        ("Status", styled(value["status"], STATUS_STYLES)),
        ("Priority", styled(value["priority"], PRIORITY_STYLES)),
        ("Category", value["category"]),
        ("Source", value["source"]),
        ("Assignee", person(value.get("assignee"))),
        ("Team", directory.team_name(value.get("teamId"))),
        ("Contact", contact or "-"),
        ("Tags", ", ".join(tag["name"] for tag in value.get("tags") or []) or "-"),
        ("SLA", sla_summary(value)),
        ("Created", f"{local_time(value.get('createdAt'))} by {person(creator)}"),
        ("Updated", local_time(value.get("updatedAt"))),
        ("ID", value["id"]),
    ]
    if value.get("followUpOf"):
        fields.append(("Follow-up of", value["followUpOf"]))
    print_fields(console, fields)
    if value.get("description"):
        console.print()
        console.print(Markdown(value["description"]))
    messages = value.get("messages")
    if messages is not None:
        console.print()
        console.print(Rule(f"Thread ({len(messages)})", align="left", style="dim"))
        if not messages:
            console.print(Text("No messages yet.", style="dim"))
        for message in messages:
            print_message(console, message, directory)
    if value.get("activities") is not None:
        console.print()
        console.print(Rule("Activity", align="left", style="dim"))
        history_table(directory)(console, value["activities"], False)


def person(user: Row | None) -> str:
    return f"@{user['handle']} ({user['name']})" if user else "-"


def sla_summary(value: Row) -> Text:
    """Where the ticket stands against its SLA, in relative times (the exact ones are in the JSON)."""
    missed = [
        label
        for key, label in (("firstResponseBreached", "first response"), ("resolutionBreached", "resolution"))
        if value.get(key)
    ]
    if value.get("slaBreached"):
        return Text(f"BREACHED ({' and '.join(missed) or 'deadline'} missed)", style="bold red")
    parts = [f"{label} target missed" for label in missed]
    if value.get("slaPausedAt"):
        left = value.get("slaRemainingSeconds")
        paused = f"paused on hold {relative_time(value['slaPausedAt'])}"
        parts.append(paused + (f", {span(left)} left" if left is not None else ""))
    if value.get("firstResponseAt"):
        parts.append(f"first response {relative_time(value['firstResponseAt'])}")
    elif value.get("firstResponseDueAt"):
        parts.append(f"first response due {relative_time(value['firstResponseDueAt'])}")
    if value.get("resolvedAt"):
        parts.append(f"resolved {relative_time(value['resolvedAt'])}")
    elif value.get("resolutionDueAt"):
        parts.append(f"resolution due {relative_time(value['resolutionDueAt'])}")
    return Text("; ".join(parts) or "no policy")


def print_message(console: Console, message: Row, directory: Directory) -> None:
    internal = bool(message.get("isInternalNote"))
    header = Text(
        f"{directory.member_label(message.get('authorId'))} · {local_time(message.get('createdAt'))} · "
    )
    header.append("internal note" if internal else "public reply", style="yellow" if internal else "green")
    if message.get("editedAt"):
        header.append(" · edited", style="dim")
    console.print()
    console.print(header, style="bold")
    console.print(Markdown(message.get("content") or ""))


# ----------------------------------------------------------------------------- create / update


CREATE_FIELDS = {
    "priority": "Default: medium.",
    "category": "Default: general.",
    "source": "Channel it came from (default: api).",
    "team": "Team name or id.",
    "assignee": "@handle, e-mail or `me`.",
    "contact_email": "E-mail of the requester.",
    "contact_name": "Name of the requester.",
    "tag": "Tag name or id (repeatable).",
}


@ticket.command("create")
@field_options(
    "create",
    {
        "subject": "Short headline, like an e-mail subject.",
        "description": "Markdown description (or use --description-file, or pipe it in).",
    },
)
@click.option("--description-file", metavar="FILE", help="Read the description from FILE (`-` for stdin).")
@field_options("create", CREATE_FIELDS)
@examples(
    'pfai ticket create --subject "Login broken" --priority high --category technical',
    'pfai ticket create --subject "Refund" --contact-email jo@example.com --tag billing --tag vip',
    'git log -1 --format=%B | pfai ticket create --subject "Regression in 1.4"',
    'pfai ticket create --subject "Crash on save" --description-file report.md --json id,ticketNumber',
)
def create_ticket(subject: str, description: str | None, description_file: str | None, **given: Any) -> None:
    """Open a ticket. Only --subject is required.

    The description comes from --description, --description-file, or standard input when it is piped.
    """
    directory = Directory(api_client())
    text = read_text(description, description_file, what="description")
    fields = {"subject": subject, "description": text or None, **given}
    created = directory.client.post("/tickets", api_values(directory, "create", fields))
    emit(created, said(lambda t: f"Created ticket {ticket_label(t)}: {t['subject']}"))


UPDATE_FIELDS = {
    "subject": "New subject.",
    "status": None,
    "priority": None,
    "category": None,
    "team": "Team name or id; `none` to clear.",
    "assignee": "@handle, e-mail or `me`; `none` to unassign.",
    "contact_email": None,
    "contact_name": None,
}


@ticket.command("update")
@click.argument("ref", metavar="TICKET")
@field_options("update", UPDATE_FIELDS)
@click.option("--add-tag", "added_tags", metavar="TAG", multiple=True, help="Tag to add (repeatable).")
@click.option(
    "--remove-tag", "removed_tags", metavar="TAG", multiple=True, help="Tag to remove (repeatable)."
)
@examples(
    "pfai ticket update 42 --status resolved --assignee alice",
    "pfai ticket update 42 --priority urgent --add-tag regression --remove-tag triage",
    "pfai ticket update 42 --assignee none --team none",
)
def update_ticket(ref: str, added_tags: tuple[str, ...], removed_tags: tuple[str, ...], **given: Any) -> None:
    """Change a ticket's fields, tags or assignee.

    The assignee is changed through the assign endpoint, so the timeline records it as a reassignment.
    """
    client = api_client()
    directory = Directory(client)
    # Every name is looked up before anything is written, so a typo changes nothing.
    changes = api_values(directory, "update", given)
    assigning, assignee_id = "assigneeId" in changes, changes.pop("assigneeId", None)
    if not changes and not added_tags and not removed_tags and not assigning:
        raise click.UsageError("nothing to update: give at least one option, e.g. --status resolved")
    added, removed = ([directory.id_of("tag", tag) for tag in tags] for tags in (added_tags, removed_tags))
    path = ticket_path(ref)
    result: dict[str, Any] | None = None
    precondition: dict[str, str] = {}
    if added or removed:
        current: dict[str, Any] = client.get(path)
        changes["tagIds"] = updated_tag_ids([tag["id"] for tag in current["tags"]], added, removed)
        # The new tag set is computed from this read: refuse (412) rather than drop a concurrent change.
        precondition["If-Match"] = f'"{current["version"]}"'
    if changes:
        result = client.patch(path, changes, headers=precondition)
    if assigning:
        result = client.post(ticket_path(ref, "assign"), {"assigneeId": assignee_id})
    emit(result, said(lambda t: f"Updated ticket {ticket_label(t)}: {t['subject']}"))


def updated_tag_ids(current: Iterable[str], added: Iterable[str], removed: Iterable[str]) -> list[str]:
    """The tag set after adding and removing, in a stable order."""
    removed_set = set(removed)
    kept = [tag_id for tag_id in current if tag_id not in removed_set]
    return kept + [tag_id for tag_id in dict.fromkeys(added) if tag_id not in kept]


@ticket.command("delete", aliases=["rm"])
@click.argument("refs", metavar="TICKET...", nargs=-1, required=True)
@yes_option
@examples("pfai ticket delete 42", "pfai ticket rm 42 43 --yes")
def delete_tickets(refs: tuple[str, ...], yes: bool) -> None:
    """Delete tickets (a soft delete: their history is kept)."""
    labels = tuple(ref_label(ref) for ref in refs)
    delete_items("ticket", "/tickets", labels, lambda label: label.removeprefix("#"), yes)


# ----------------------------------------------------------------------------- thread


def thread_command(name: str, internal: bool, help: str) -> None:
    """`reply` and `note`: the same command, posting a public reply or an internal note."""
    what, kind = ("note", "an internal note to") if internal else ("reply", "a reply to")

    @ticket.command(name, help=help)
    @click.argument("ref", metavar="TICKET")
    @click.argument("text", required=False)
    @click.option("--file", "-F", metavar="FILE", help="Read the text from FILE (`-` for stdin).")
    @click.option("--canned", metavar="NAME", help="Send a canned response (by title or id).")
    def post(ref: str, text: str | None, file: str | None, canned: str | None) -> None:
        client = api_client()
        if canned is not None:
            if text is not None or file is not None:
                raise click.UsageError("give either the text or --canned, not both")
            content: str | None = Directory(client).find("canned response", canned)["body"]
        else:
            content = read_text(text, file, what=what, editor=True)
        if not content or not content.strip():
            raise click.UsageError(f"the {what} is empty: give the text, --file, --canned, or pipe it in")
        message = client.post(ticket_path(ref, "messages"), {"content": content, "isInternalNote": internal})
        label = ref_label(ref)
        emit(message, said(lambda m: f"Added {kind} ticket {label} (message {m['id'][:8]})."))


thread_command(
    "reply",
    internal=False,
    help=help_text(
        "Post a public reply (visible to the requester). `@handle` mentions notify members.\n\n"
        "Without TEXT, the reply is read from --file, piped stdin, or written in $EDITOR.",
        'pfai ticket reply 42 "Hi! We just shipped a fix in v1.4.3, please try again."',
        'pfai ticket reply 42 --canned "Password reset"',
        "pfai ticket reply 42 --file answer.md",
    ),
)
thread_command(
    "note",
    internal=True,
    help=help_text(
        "Add an internal note (team-only; the requester never sees it).",
        'pfai ticket note 42 "@bob third report this week, file an issue?"',
        'echo "Customer is on the enterprise plan" | pfai ticket note 42',
    ),
)


# ----------------------------------------------------------------------------- history


@ticket.command("history")
@click.argument("ref", metavar="TICKET")
@examples(
    "pfai ticket history 42",
    "pfai ticket history 42 -o json",
    "pfai ticket history 42 --query \"[?type=='status_changed'].newValue\"",
)
def history(ref: str) -> None:
    """Show the ticket's timeline: every change, oldest first."""
    client = api_client()
    emit(client.all_items(ticket_path(ref, "activities")), history_table(Directory(client)))


def history_table(directory: Directory) -> TableRenderer:
    """The timeline: when, who, and the server's summary of the change (its times shown as local ones)."""
    return table(
        [
            Column("WHEN", lambda a: local_time(a.get("createdAt"), relative=False)),
            Column("WHO", lambda a: directory.member_label(a.get("actorId"))),
            Column("CHANGE", lambda a: local_times(a.get("summary") or ""), flexible=True),
        ],
        "No activity.",
    )


# ----------------------------------------------------------------------------- stats


STATS_FILTERS = {
    "team": "Only this team's tickets (name or id).",
    "assignee": "Only this member's tickets (@handle, e-mail or `me`).",
}


@ticket.command("stats")
@field_options("stats", STATS_FILTERS)
@examples(
    "pfai ticket stats",
    "pfai ticket stats --assignee me",
    "pfai ticket stats --team support --query byStatus.open",
)
def stats(team: str | None, assignee: str | None) -> None:
    """Ticket counts by status, priority and category, and how many are past their SLA deadline."""
    client = api_client()
    params = api_values(Directory(client), "stats", {"team": team, "assignee": assignee})
    emit(client.get("/tickets/stats", params), print_stats)


def print_stats(console: Console, counts: Row, wide: bool) -> None:
    totals = (("Total", "total"), ("SLA breached", "slaBreached"), ("SLA breached ever", "slaBreachedTotal"))
    print_fields(console, [(label, str(counts.get(key, 0))) for label, key in totals])
    for title, key, values, styles in (
        ("STATUS", "byStatus", STATUSES, STATUS_STYLES),
        ("PRIORITY", "byPriority", PRIORITIES, PRIORITY_STYLES),
        ("CATEGORY", "byCategory", CATEGORIES, {}),
    ):
        # Every known value, even with no tickets, then any the server knows and the CLI does not.
        by_value: dict[str, int] = dict.fromkeys(values, 0) | (counts.get(key) or {})
        rows = [{"value": value, "count": count} for value, count in by_value.items()]
        columns = [
            Column(title, lambda r, s=styles: styled(r["value"], s)),  # type: ignore[misc]
            Column("TICKETS", lambda r: str(r["count"]), justify="right"),
        ]
        console.print()
        print_table(console, rows, columns)
