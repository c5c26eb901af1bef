"""`pfai tag`, `pfai sla-policy` and `pfai canned`: the org settings tickets use.

Each setting is one `Resource` row: its API path, how it is named, its columns, the options of its
`create` and `update`, and its help texts. `crud()` makes its group and the same five verbs (list, view,
create, update, delete), whose help is made from the resource's nouns and examples.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from rich.text import Text

from tickets.cli.client import path_segment
from tickets.cli.commands.common import delete_items, yes_option
from tickets.cli.directory import Directory
from tickets.cli.inputs import read_text
from tickets.cli.options import ClientGroup, api_client, help_text, with_options
from tickets.cli.output import (
    PRIORITY_STYLES,
    Column,
    Row,
    TableRenderer,
    emit,
    or_dash,
    record,
    said,
    short_id,
    styled,
    table,
)
from tickets.domain.values import Priority

PRIORITIES = [p.value for p in Priority]
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


@dataclass(frozen=True)
class Resource:
    """One org setting as the CLI lists, shows, creates, updates and deletes it."""

    kind: str  # as messages and the `Directory` name it: "tag", "SLA policy"
    one: str  # and one of them, as help texts name it: "a tag", "an SLA policy"
    kinds: str  # and more than one: "tags", "SLA policies"
    path: str  # its API collection
    metavar: str  # how a reference to one is shown in usage lines
    columns: Callable[[Directory], list[Column]]
    created: Callable[[Row], str]
    updated: Callable[[Row], str]
    create_options: Sequence[Decorator]
    update_options: Sequence[Decorator]
    help: str  # the group's help
    examples: Mapping[str, Sequence[str]]  # verb -> the examples in its help
    # The summary of a verb's help, where the usual one ("Create a tag.") does not say enough.
    summaries: Mapping[str, str] = field(default_factory=dict)
    admins_only: bool = False  # whether only admins may change it (the help of the changes says so)
    list_options: Sequence[Decorator] = ()
    # How `view` prints one (default: the columns as `Label: value` lines).
    view: Callable[[Directory], TableRenderer] | None = None

    def help_for(self, verb: str) -> str:
        """A verb's help: the usual summary (`Create a tag.`) unless told otherwise, then the examples."""
        one, admins = self.one, " (admins only)" if self.admins_only else ""
        usual = {
            "list": f"List {self.kinds}.",
            "view": f"Show {one}.",
            "create": f"Create {one}{admins}.",
            "update": f"Change {one}{admins}.",
            "delete": f"Delete {self.kinds}{admins}.",
        }
        return help_text(self.summaries.get(verb, usual[verb]), *self.examples[verb])


def request_body(
    resource: Resource, directory: Directory, params: dict[str, Any], update: bool
) -> dict[str, Any]:
    """The API body from the options (each named as its API field): the text of --body/--body-file, a team
    by name, the rest as given."""
    body: dict[str, Any] = {}
    if "body_file" in params:
        text, file = params.pop("body"), params.pop("body_file")
        if not update or text is not None or file is not None:
            body["body"] = read_text(text, file, what="body")
        if not update and not (body["body"] or "").strip():
            raise click.UsageError("the body is empty: give --body, --body-file, or pipe it in")
    team = params.pop("team", None)
    body.update({key: value for key, value in params.items() if value is not None})
    if team is not None:  # `none` makes it org-wide, in an update
        org_wide = update and team.strip().lower() == "none"
        body["teamId"] = None if org_wide else directory.id_of("team", team)
    return body


def crud(name: str, resource: Resource) -> ClientGroup:
    """The command group of `resource`, with its `list`, `view`, `create`, `update` and `delete`."""
    group = click.group(name, cls=ClientGroup, help=resource.help)(lambda: None)
    commands = group.command
    help_of = resource.help_for

    @commands("list", aliases=["ls"], help=help_of("list"))
    @with_options(resource.list_options)
    def list_items(team: str | None = None) -> None:
        client = api_client()
        directory = Directory(client)
        items = client.all_items(resource.path, {"teamId": directory.id_of("team", team) if team else None})
        emit(items, table(resource.columns(directory), f"No {resource.kinds}."))

    @commands("view", aliases=["get"], help=help_of("view"))
    @click.argument("ref", metavar=resource.metavar)
    def view_item(ref: str) -> None:
        directory = Directory(api_client())
        value = directory.client.get(f"{resource.path}/{path_segment(directory.id_of(resource.kind, ref))}")
        emit(value, resource.view(directory) if resource.view else record(resource.columns(directory)))

    @commands("create", help=help_of("create"))
    @with_options(resource.create_options)
    def create_item(**params: Any) -> None:
        directory = Directory(api_client())
        created = directory.client.post(
            resource.path, request_body(resource, directory, params, update=False)
        )
        emit(created, said(resource.created))

    @commands("update", help=help_of("update"))
    @click.argument("ref", metavar=resource.metavar)
    @with_options(resource.update_options)
    def update_item(ref: str, **params: Any) -> None:
        directory = Directory(api_client())
        changes = request_body(resource, directory, params, update=True)
        if not changes:
            command = click.get_current_context().command
            flags = [p.opts[0] for p in command.params if isinstance(p, click.Option) and p.expose_value]
            raise click.UsageError(f"nothing to update: give {', '.join(flags[:-1])} or {flags[-1]}")
        path = f"{resource.path}/{path_segment(directory.id_of(resource.kind, ref))}"
        emit(directory.client.patch(path, changes), said(resource.updated))

    @commands("delete", aliases=["rm"], help=help_of("delete"))
    @click.argument("refs", metavar=f"{resource.metavar}...", nargs=-1, required=True)
    @yes_option
    def delete_item(refs: tuple[str, ...], yes: bool) -> None:
        directory = Directory(api_client())
        delete_items(resource.kind, resource.path, refs, lambda ref: directory.id_of(resource.kind, ref), yes)

    return group


def id_column() -> list[Column]:
    """A short id in tables (a valid reference), the full id in wide tables and single-item views."""
    return [
        Column("ID", lambda r: short_id(r["id"]), narrow_only=True),
        Column("ID", lambda r: r["id"], wide_only=True, label="ID"),
    ]


def team_or_org_wide(directory: Directory) -> Callable[[Row], str]:
    return lambda r: directory.team_name(r.get("teamId")) if r.get("teamId") else "(org-wide)"


def new_team_option(help: str) -> Decorator:
    return click.option("--team", metavar="TEAM", help=help)


move_team_option = new_team_option("Move to this team; `none` for org-wide.")


def target_options(first_response: str, resolution: str, required: bool) -> list[Decorator]:
    """An SLA policy's two targets, with these helps, named as their API fields."""
    return [
        click.option(
            "--first-response", "firstResponseMinutes", type=Minutes(), required=required, help=first_response
        ),
        click.option("--resolution", "resolutionMinutes", type=Minutes(), required=required, help=resolution),
    ]


# ============================================================================= tags


def colour_cell(row: Row) -> Text:
    colour = str(row.get("color") or "")
    swatch = Text("■ ", style=colour if re.fullmatch(r"#[0-9a-fA-F]{6}", colour) else "")
    swatch.append(colour)
    return swatch


def tag_columns(directory: Directory) -> list[Column]:
    return [
        *id_column(),
        Column("NAME", lambda r: r["name"], flexible=True),
        Column("COLOR", colour_cell),
        Column("TEAM", lambda r: directory.team_name(r.get("teamId"))),
    ]


TAGS = Resource(
    kind="tag",
    one="a tag",
    kinds="tags",
    help=help_text(
        "Manage ticket tags (a name and a colour, optionally per team).\n\n"
        "A tag is named by its name or id (a unique prefix of the id is enough).",
        "pfai tag ls",
        'pfai tag create regression --color "#ef4444"',
        'pfai tag update regression --color "#f97316"',
        "pfai tag rm regression --yes",
    ),
    path="/ticket-tags",
    metavar="TAG",
    columns=tag_columns,
    created=lambda t: f"Created tag {t['name']} ({short_id(t['id'])}).",
    updated=lambda t: f"Updated tag {t['name']}.",
    list_options=[new_team_option("Only this team's tags (name or id).")],
    create_options=[
        click.argument("name"),
        click.option("--color", metavar="#RRGGBB", help="Colour (default: grey #6b7280)."),
        new_team_option("Scope the tag to one team (name or id)."),
    ],
    update_options=[
        click.option("--name", help="New name."),
        click.option("--color", metavar="#RRGGBB", help="New colour."),
        move_team_option,
    ],
    summaries={"update": "Rename, recolour or re-scope a tag."},
    examples={
        "list": ["pfai tag ls", "pfai tag ls --team support -o json"],
        "view": ["pfai tag get regression", "pfai tag view regression --json id,color"],
        "create": [
            'pfai tag create regression --color "#ef4444"',
            "pfai tag create enterprise-customer --team support",
        ],
        "update": [
            'pfai tag update regression --color "#f97316"',
            "pfai tag update regresion --name regression",
            "pfai tag update regression --team none",
        ],
        "delete": ["pfai tag rm regression", "pfai tag delete old-tag other-tag --yes"],
    },
)
tag = crud("tag", TAGS)


# ============================================================================= SLA policies


class Minutes(click.ParamType[int, Any]):
    """A duration in minutes, written `90`, `90m`, `4h`, `2d` or `1h30m`."""

    name = "duration"
    pattern = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m?)?$")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = self.pattern.match(str(value).strip().lower())
        if not match or not any(match.groups()):
            self.fail(f"{value!r} is not a duration like 90m, 4h, 2d or 1h30m", param, ctx)
        days, hours, minutes = (int(part or 0) for part in match.groups())
        total = days * 1440 + hours * 60 + minutes
        if total <= 0:
            self.fail("the duration must be positive", param, ctx)
        return total


def minutes_label(minutes: Any) -> str:
    """`90` -> `1h 30m`; `2880` -> `2d`."""
    if not isinstance(minutes, int):
        return or_dash(minutes)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return " ".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n) or "0m"


def sla_columns(directory: Directory) -> list[Column]:
    return [
        *id_column(),
        Column("PRIORITY", lambda r: styled(r["priority"], PRIORITY_STYLES)),
        Column("FIRST RESPONSE", lambda r: minutes_label(r["firstResponseMinutes"]), justify="right"),
        Column("RESOLUTION", lambda r: minutes_label(r["resolutionMinutes"]), justify="right"),
        Column("TEAM", team_or_org_wide(directory)),
    ]


SLA_POLICIES = Resource(
    kind="SLA policy",
    one="an SLA policy",
    kinds="SLA policies",
    help=help_text(
        "Manage SLA policies: response and resolution targets per priority (and optionally per team).\n\n"
        "A policy is named by its id (a unique prefix is enough, as shown by `pfai sla-policy ls`).\n"
        "Durations are written 90m, 4h, 2d or 1h30m.",
        "pfai sla-policy ls",
        "pfai sla-policy create --priority urgent --first-response 30m --resolution 4h",
        "pfai sla-policy update 1a2b3c4d --resolution 8h",
    ),
    path="/sla-policies",
    metavar="POLICY",
    columns=sla_columns,
    created=lambda p: f"Created SLA policy {short_id(p['id'])} for {p['priority']} tickets.",
    updated=lambda p: f"Updated SLA policy {short_id(p['id'])}.",
    create_options=[
        click.option("--priority", type=click.Choice(PRIORITIES), required=True),
        *target_options("Target for the first response.", "Target for resolving.", required=True),
        new_team_option("Only this team's tickets (name or id)."),
    ],
    update_options=[
        click.option("--priority", type=click.Choice(PRIORITIES)),
        *target_options("New first-response target.", "New resolution target.", required=False),
        move_team_option,
    ],
    admins_only=True,
    summaries={"create": "Create an SLA policy (admins only). One policy per priority and team."},
    examples={
        "list": ["pfai sla-policy ls", "pfai sla-policy ls --query \"[?priority=='urgent']\""],
        "view": ["pfai sla-policy get 1a2b3c4d -o yaml"],
        "create": [
            "pfai sla-policy create --priority urgent --first-response 30m --resolution 4h",
            "pfai sla-policy create --priority high --first-response 2h --resolution 2d --team support",
        ],
        "update": [
            "pfai sla-policy update 1a2b3c4d --resolution 8h",
            "pfai sla-policy update 1a2b3c4d --team none",
        ],
        "delete": ["pfai sla-policy rm 1a2b3c4d --yes"],
    },
)
sla_policy = crud("sla-policy", SLA_POLICIES)


# ============================================================================= canned responses


def canned_columns(directory: Directory) -> list[Column]:
    return [
        *id_column(),
        Column("TITLE", lambda r: r["title"], flexible=True),
        Column("TEAM", team_or_org_wide(directory)),
        Column("BY", lambda r: directory.member_label(r.get("createdBy")), wide_only=True),
        Column("BODY", lambda r: " ".join(str(r["body"]).split())[:60], wide_only=True),
    ]


def canned_view(directory: Directory) -> TableRenderer:
    """A canned response's fields, then its body as Markdown."""
    return record(
        [
            Column("TITLE", lambda r: r["title"]),
            Column("TEAM", team_or_org_wide(directory)),
            Column("BY", lambda r: directory.member_label(r.get("createdBy")), label="Created by"),
            Column("ID", lambda r: r["id"], label="ID"),
        ],
        markdown="body",
    )


CANNED_RESPONSES = Resource(
    kind="canned response",
    one="a canned response",
    kinds="canned responses",
    help=help_text(
        "Manage canned responses: saved replies (a title and a Markdown body).\n\n"
        "A canned response is named by its title or id. Send one with `pfai ticket reply 42 --canned TITLE`.",
        "pfai canned ls",
        'pfai canned create --title "Password reset" --body "Use the *Forgot password* link."',
        'pfai canned view "Password reset"',
    ),
    path="/canned-responses",
    metavar="CANNED",
    columns=canned_columns,
    created=lambda c: f"Created canned response {c['title']!r} ({short_id(c['id'])}).",
    updated=lambda c: f"Updated canned response {c['title']!r}.",
    view=canned_view,
    list_options=[new_team_option("The team's own and the org-wide ones.")],
    create_options=[
        click.option("--title", required=True, help="Short title, used to pick it."),
        click.option("--body", help="Markdown text (or use --body-file, or pipe it in)."),
        click.option("--body-file", metavar="FILE", help="Read the body from FILE (`-` for stdin)."),
        new_team_option("Scope it to a team (org-wide ones need an admin)."),
    ],
    update_options=[
        click.option("--title", help="New title."),
        click.option("--body", help="New Markdown body."),
        click.option("--body-file", metavar="FILE", help="Read the new body from FILE (`-` for stdin)."),
        move_team_option,
    ],
    summaries={"view": "Show a canned response with its body."},
    examples={
        "list": ["pfai canned ls", "pfai canned ls --team support -o wide"],
        "view": ['pfai canned view "Password reset"', "pfai canned get 1a2b3c4d --query body"],
        "create": [
            'pfai canned create --title "Password reset" --body "Use the *Forgot password* link." --team support',
            'pfai canned create --title "Outage" --body-file outage.md',
        ],
        "update": [
            'pfai canned update "Password reset" --body-file reset.md',
            'pfai canned update 1a2b3c4d --title "Reset your password"',
        ],
        "delete": ['pfai canned rm "Password reset" --yes'],
    },
)
canned = crud("canned", CANNED_RESPONSES)
