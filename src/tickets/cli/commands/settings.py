"""`pfai tag`, `pfai sla-policy` and `pfai canned`: the org settings tickets use."""

from __future__ import annotations

import re
from typing import Any

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from tickets.cli.client import path_segment
from tickets.cli.commands.common import delete_items, team_option_value, yes_option
from tickets.cli.directory import Directory
from tickets.cli.inputs import read_text
from tickets.cli.options import ClientGroup, api_client, client_options
from tickets.cli.output import (
    PRIORITY_STYLES,
    Column,
    Row,
    emit,
    or_dash,
    print_fields,
    record,
    said,
    short_id,
    styled,
    table,
)
from tickets.domain.values import Priority

PRIORITIES = [p.value for p in Priority]


def id_column() -> list[Column]:
    """A short id in tables (a valid reference), the full id in wide tables and single-item views."""
    return [
        Column("ID", lambda r: short_id(r["id"]), narrow_only=True),
        Column("ID", lambda r: r["id"], wide_only=True, label="ID"),
    ]


# ============================================================================= tags


@click.group(cls=ClientGroup)
@client_options
def tag() -> None:
    """Manage ticket tags (a name and a colour, optionally per team).

    A tag is named by its name or id (a unique prefix of the id is enough).

    \b
    Examples:
      pfai tag ls
      pfai tag create regression --color "#ef4444"
      pfai tag update regression --color "#f97316"
      pfai tag rm regression --yes
    """


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


@tag.command("list", aliases=["ls"])
@click.option("--team", metavar="TEAM", help="Only this team's tags (name or id).")
@client_options
def list_tags(team: str | None) -> None:
    """List tags.

    \b
    Examples:
      pfai tag ls
      pfai tag ls --team support -o json
    """
    client = api_client()
    directory = Directory(client)
    tags = client.all_items("/ticket-tags", {"teamId": directory.team_id(team) if team else None})
    emit(tags, table(tag_columns(directory), "No tags."))


@tag.command("view", aliases=["get"])
@click.argument("ref", metavar="TAG")
@client_options
def view_tag(ref: str) -> None:
    """Show a tag.

    \b
    Examples:
      pfai tag get regression
      pfai tag view regression --json id,color
    """
    client = api_client()
    directory = Directory(client)
    value = client.get(f"/ticket-tags/{path_segment(directory.tag_id(ref))}")
    emit(value, record(tag_columns(directory)))


@tag.command("create")
@click.argument("name")
@click.option("--color", metavar="#RRGGBB", help="Colour (default: grey #6b7280).")
@click.option("--team", metavar="TEAM", help="Scope the tag to one team (name or id).")
@client_options
def create_tag(name: str, color: str | None, team: str | None) -> None:
    """Create a tag.

    \b
    Examples:
      pfai tag create regression --color "#ef4444"
      pfai tag create enterprise-customer --team support
    """
    client = api_client()
    body: dict[str, Any] = {"name": name}
    if color is not None:
        body["color"] = color
    if team is not None:
        body["teamId"] = Directory(client).team_id(team)
    created = client.post("/ticket-tags", body)
    emit(created, said(lambda t: f"Created tag {t['name']} ({short_id(t['id'])})."))


@tag.command("update")
@click.argument("ref", metavar="TAG")
@click.option("--name", help="New name.")
@click.option("--color", metavar="#RRGGBB", help="New colour.")
@click.option("--team", metavar="TEAM", help="Move to this team; `none` for org-wide.")
@client_options
def update_tag(ref: str, name: str | None, color: str | None, team: str | None) -> None:
    """Rename, recolour or re-scope a tag.

    \b
    Examples:
      pfai tag update regression --color "#f97316"
      pfai tag update regresion --name regression
      pfai tag update regression --team none
    """
    client = api_client()
    directory = Directory(client)
    changes: dict[str, Any] = {k: v for k, v in {"name": name, "color": color}.items() if v is not None}
    team_given, team_id = team_option_value(directory, team)
    if team_given:
        changes["teamId"] = team_id
    if not changes:
        raise click.UsageError("nothing to update: give --name, --color or --team")
    updated = client.patch(f"/ticket-tags/{path_segment(directory.tag_id(ref))}", changes)
    emit(updated, said(lambda t: f"Updated tag {t['name']}."))


@tag.command("delete", aliases=["rm"])
@click.argument("refs", metavar="TAG...", nargs=-1, required=True)
@yes_option
@client_options
def delete_tags(refs: tuple[str, ...], yes: bool) -> None:
    """Delete tags.

    \b
    Examples:
      pfai tag rm regression
      pfai tag delete old-tag other-tag --yes
    """
    delete_items("tag", "/ticket-tags", refs, Directory(api_client()).tag_id, yes)


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


@click.group("sla-policy", cls=ClientGroup)
@client_options
def sla_policy() -> None:
    """Manage SLA policies: response and resolution targets per priority (and optionally per team).

    A policy is named by its id (a unique prefix is enough, as shown by `pfai sla-policy ls`).
    Durations are written 90m, 4h, 2d or 1h30m.

    \b
    Examples:
      pfai sla-policy ls
      pfai sla-policy create --priority urgent --first-response 30m --resolution 4h
      pfai sla-policy update 1a2b3c4d --resolution 8h
    """


def sla_columns(directory: Directory) -> list[Column]:
    return [
        *id_column(),
        Column("PRIORITY", lambda r: styled(r["priority"], PRIORITY_STYLES)),
        Column("FIRST RESPONSE", lambda r: minutes_label(r["firstResponseMinutes"]), justify="right"),
        Column("RESOLUTION", lambda r: minutes_label(r["resolutionMinutes"]), justify="right"),
        Column("TEAM", lambda r: directory.team_name(r.get("teamId")) if r.get("teamId") else "(org-wide)"),
    ]


@sla_policy.command("list", aliases=["ls"])
@client_options
def list_policies() -> None:
    """List SLA policies.

    \b
    Examples:
      pfai sla-policy ls
      pfai sla-policy ls --query "[?priority=='urgent']"
    """
    client = api_client()
    emit(client.all_items("/sla-policies"), table(sla_columns(Directory(client)), "No SLA policies."))


@sla_policy.command("view", aliases=["get"])
@click.argument("ref", metavar="POLICY")
@client_options
def view_policy(ref: str) -> None:
    """Show an SLA policy.

    \b
    Examples:
      pfai sla-policy get 1a2b3c4d -o yaml
    """
    client = api_client()
    directory = Directory(client)
    value = client.get(f"/sla-policies/{path_segment(directory.sla_policy_id(ref))}")
    emit(value, record(sla_columns(directory)))


@sla_policy.command("create")
@click.option("--priority", type=click.Choice(PRIORITIES), required=True)
@click.option("--first-response", type=Minutes(), required=True, help="Target for the first response.")
@click.option("--resolution", type=Minutes(), required=True, help="Target for resolving.")
@click.option("--team", metavar="TEAM", help="Only this team's tickets (name or id).")
@client_options
def create_policy(priority: str, first_response: int, resolution: int, team: str | None) -> None:
    """Create an SLA policy (admins only). One policy per priority and team.

    \b
    Examples:
      pfai sla-policy create --priority urgent --first-response 30m --resolution 4h
      pfai sla-policy create --priority high --first-response 2h --resolution 2d --team support
    """
    client = api_client()
    body: dict[str, Any] = {
        "priority": priority,
        "firstResponseMinutes": first_response,
        "resolutionMinutes": resolution,
    }
    if team is not None:
        body["teamId"] = Directory(client).team_id(team)
    created = client.post("/sla-policies", body)
    emit(created, said(lambda p: f"Created SLA policy {short_id(p['id'])} for {p['priority']} tickets."))


@sla_policy.command("update")
@click.argument("ref", metavar="POLICY")
@click.option("--priority", type=click.Choice(PRIORITIES))
@click.option("--first-response", type=Minutes(), help="New first-response target.")
@click.option("--resolution", type=Minutes(), help="New resolution target.")
@click.option("--team", metavar="TEAM", help="Move to this team; `none` for org-wide.")
@client_options
def update_policy(
    ref: str, priority: str | None, first_response: int | None, resolution: int | None, team: str | None
) -> None:
    """Change an SLA policy (admins only).

    \b
    Examples:
      pfai sla-policy update 1a2b3c4d --resolution 8h
      pfai sla-policy update 1a2b3c4d --team none
    """
    client = api_client()
    directory = Directory(client)
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "priority": priority,
            "firstResponseMinutes": first_response,
            "resolutionMinutes": resolution,
        }.items()
        if value is not None
    }
    team_given, team_id = team_option_value(directory, team)
    if team_given:
        changes["teamId"] = team_id
    if not changes:
        raise click.UsageError("nothing to update: give --priority, --first-response, --resolution or --team")
    updated = client.patch(f"/sla-policies/{path_segment(directory.sla_policy_id(ref))}", changes)
    emit(updated, said(lambda p: f"Updated SLA policy {short_id(p['id'])}."))


@sla_policy.command("delete", aliases=["rm"])
@click.argument("refs", metavar="POLICY...", nargs=-1, required=True)
@yes_option
@client_options
def delete_policies(refs: tuple[str, ...], yes: bool) -> None:
    """Delete SLA policies (admins only).

    \b
    Examples:
      pfai sla-policy rm 1a2b3c4d --yes
    """
    delete_items("SLA policy", "/sla-policies", refs, Directory(api_client()).sla_policy_id, yes)


# ============================================================================= canned responses


@click.group(cls=ClientGroup)
@client_options
def canned() -> None:
    """Manage canned responses: saved replies (a title and a Markdown body).

    A canned response is named by its title or id. Send one with `pfai ticket reply 42 --canned TITLE`.

    \b
    Examples:
      pfai canned ls
      pfai canned create --title "Password reset" --body "Use the *Forgot password* link."
      pfai canned view "Password reset"
    """


def canned_columns(directory: Directory) -> list[Column]:
    return [
        *id_column(),
        Column("TITLE", lambda r: r["title"], flexible=True),
        Column("TEAM", lambda r: directory.team_name(r.get("teamId")) if r.get("teamId") else "(org-wide)"),
        Column("BY", lambda r: directory.member_label(r.get("createdBy")), wide_only=True),
        Column("BODY", lambda r: " ".join(str(r["body"]).split())[:60], wide_only=True),
    ]


@canned.command("list", aliases=["ls"])
@click.option("--team", metavar="TEAM", help="The team's own and the org-wide ones.")
@client_options
def list_canned(team: str | None) -> None:
    """List canned responses.

    \b
    Examples:
      pfai canned ls
      pfai canned ls --team support -o wide
    """
    client = api_client()
    directory = Directory(client)
    items = client.all_items("/canned-responses", {"teamId": directory.team_id(team) if team else None})
    emit(items, table(canned_columns(directory), "No canned responses."))


@canned.command("view", aliases=["get"])
@click.argument("ref", metavar="CANNED")
@client_options
def view_canned(ref: str) -> None:
    """Show a canned response with its body.

    \b
    Examples:
      pfai canned view "Password reset"
      pfai canned get 1a2b3c4d --query body
    """
    client = api_client()
    directory = Directory(client)
    value = client.get(f"/canned-responses/{path_segment(directory.canned_response(ref)['id'])}")

    def describe(console: Console, data: Row, wide: bool) -> None:
        print_fields(
            console,
            [
                ("Title", data["title"]),
                ("Team", directory.team_name(data.get("teamId")) if data.get("teamId") else "(org-wide)"),
                ("Created by", directory.member_label(data.get("createdBy"))),
                ("ID", data["id"]),
            ],
        )
        console.print()
        console.print(Markdown(data["body"]))

    emit(value, describe)


@canned.command("create")
@click.option("--title", required=True, help="Short title, used to pick it.")
@click.option("--body", help="Markdown text (or use --body-file, or pipe it in).")
@click.option("--body-file", metavar="FILE", help="Read the body from FILE (`-` for stdin).")
@click.option("--team", metavar="TEAM", help="Scope it to a team (org-wide ones need an admin).")
@client_options
def create_canned(title: str, body: str | None, body_file: str | None, team: str | None) -> None:
    """Create a canned response.

    \b
    Examples:
      pfai canned create --title "Password reset" --body "Use the *Forgot password* link." --team support
      pfai canned create --title "Outage" --body-file outage.md
    """
    client = api_client()
    text = read_text(body, body_file, what="body")
    if not text or not text.strip():
        raise click.UsageError("the body is empty: give --body, --body-file, or pipe it in")
    payload: dict[str, Any] = {"title": title, "body": text}
    if team is not None:
        payload["teamId"] = Directory(client).team_id(team)
    created = client.post("/canned-responses", payload)
    emit(created, said(lambda c: f"Created canned response {c['title']!r} ({short_id(c['id'])})."))


@canned.command("update")
@click.argument("ref", metavar="CANNED")
@click.option("--title", help="New title.")
@click.option("--body", help="New Markdown body.")
@click.option("--body-file", metavar="FILE", help="Read the new body from FILE (`-` for stdin).")
@click.option("--team", metavar="TEAM", help="Move to this team; `none` for org-wide.")
@client_options
def update_canned(
    ref: str, title: str | None, body: str | None, body_file: str | None, team: str | None
) -> None:
    """Change a canned response.

    \b
    Examples:
      pfai canned update "Password reset" --body-file reset.md
      pfai canned update 1a2b3c4d --title "Reset your password"
    """
    client = api_client()
    directory = Directory(client)
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if body is not None or body_file is not None:
        changes["body"] = read_text(body, body_file, what="body")
    team_given, team_id = team_option_value(directory, team)
    if team_given:
        changes["teamId"] = team_id
    if not changes:
        raise click.UsageError("nothing to update: give --title, --body, --body-file or --team")
    target = directory.canned_response(ref)["id"]
    updated = client.patch(f"/canned-responses/{path_segment(target)}", changes)
    emit(updated, said(lambda c: f"Updated canned response {c['title']!r}."))


@canned.command("delete", aliases=["rm"])
@click.argument("refs", metavar="CANNED...", nargs=-1, required=True)
@yes_option
@client_options
def delete_canned(refs: tuple[str, ...], yes: bool) -> None:
    """Delete canned responses.

    \b
    Examples:
      pfai canned rm "Password reset" --yes
    """
    directory = Directory(api_client())
    delete_items(
        "canned response",
        "/canned-responses",
        refs,
        lambda ref: str(directory.canned_response(ref)["id"]),
        yes,
    )
