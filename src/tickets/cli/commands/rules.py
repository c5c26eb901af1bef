"""`pfai rule`: trigger rules, listed, shown and removed like the other settings, and applied from YAML.

`pfai rule apply -f rules.yaml` creates each rule of the file, or updates the rule of that name: the
file is the spec's "workflow YAML", a list of rules (or `{rules: [...]}`) in the API's own shape
(docs/automation.md#rules). Where the API takes an id, the file may name the item instead (a team, a
member as `@handle` or e-mail, a tag, a canned response by title): the CLI looks the names up.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import click
import yaml

from tickets.cli.client import CliError, path_segment
from tickets.cli.commands.settings import Resource, crud, id_column
from tickets.cli.directory import Directory
from tickets.cli.options import api_client, help_text
from tickets.cli.output import Column, Row, emit, short_id, table

# Where a rule's YAML may name an item instead of giving its id: action parameter -> directory kind.
ACTION_REFS = {"teamId": "team", "userId": "member", "tagId": "tag", "cannedResponseId": "canned response"}
CONDITION_REFS = {"teamId": "team", "assigneeId": "member", "tags": "tag"}


def rule_columns(directory: Directory) -> list[Column]:
    return [
        *id_column(),
        Column("POS", lambda r: str(r["position"]), justify="right"),
        Column("NAME", lambda r: r["name"], flexible=True),
        Column("ON", lambda r: ",".join(r["on"])),
        Column("ACTIVE", lambda r: "yes" if r["active"] else "no"),
        Column("ACTIONS", lambda r: ",".join(a["type"] for a in r["actions"])),
    ]


RULES = Resource(
    kind="rule",
    one="a trigger rule",
    kinds="trigger rules",
    help=help_text(
        "Manage trigger rules: what happens by itself when tickets are created, updated or written to.\n\n"
        "A rule is named by its name or id. Write rules in YAML and apply them with `pfai rule apply`.",
        "pfai rule apply -f rules.yaml",
        "pfai rule ls",
        'pfai rule get "VIP routing" -o yaml',
    ),
    path="/rules",
    metavar="RULE",
    columns=rule_columns,
    created=lambda r: f"Created rule {r['name']!r}.",
    updated=lambda r: f"Updated rule {r['name']!r}.",
    create_options=[],
    update_options=[],
    admins_only=True,
    examples={
        "list": ["pfai rule ls", "pfai rule ls -o yaml > rules.yaml"],
        "view": ['pfai rule get "VIP routing"', 'pfai rule view "VIP routing" -o yaml'],
        "create": [],
        "update": [],
        "delete": ['pfai rule rm "VIP routing" --yes'],
    },
)
rule = crud("rule", RULES)
# Rules are written as YAML (`apply`), not option by option.
for verb in ("create", "update"):
    rule.commands.pop(verb)


def _resolved(directory: Directory, kind: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return str(UUID(value))
    except ValueError:
        return directory.id_of(kind, value)


def api_body(directory: Directory, spec: dict[str, Any]) -> dict[str, Any]:
    """A rule of the file as the API takes it: names of teams, members, tags and canned responses
    looked up, and what the API returns but does not take (`id`, `activeSince`) left out."""
    body = {k: v for k, v in spec.items() if k not in ("id", "activeSince")}
    actions = []
    for action in body.get("actions") or []:
        if isinstance(action, dict):
            action = {
                k: _resolved(directory, ACTION_REFS[k], v) if k in ACTION_REFS else v
                for k, v in action.items()
            }
        actions.append(action)
    if "actions" in body:
        body["actions"] = actions
    conditions = body.get("conditions")
    if isinstance(conditions, dict):
        for group in ("all", "any"):
            for condition in conditions.get(group) or []:
                kind = (
                    CONDITION_REFS.get(str(condition.get("field"))) if isinstance(condition, dict) else None
                )
                if kind is not None and condition.get("value") is not None:
                    value = condition["value"]
                    condition["value"] = (
                        [_resolved(directory, kind, v) for v in value]
                        if isinstance(value, list)
                        else _resolved(directory, kind, value)
                    )
    return body


def load_rules(file: str) -> list[dict[str, Any]]:
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CliError(f"{file} is not YAML: {error}") from None
    if isinstance(loaded, dict) and "rules" in loaded:
        loaded = loaded["rules"]
    if isinstance(loaded, dict):
        loaded = [loaded]
    if not isinstance(loaded, list) or not all(isinstance(r, dict) and r.get("name") for r in loaded):
        raise CliError(f"{file}: expected a list of rules (or `rules:` with one), each with a name")
    # YAML 1.1 (PyYAML) reads a bare `on:` key as the boolean true: it is the rule's `on`.
    return [{("on" if key is True else key): value for key, value in r.items()} for r in loaded]


@rule.command(
    "apply",
    help=help_text(
        "Create or update rules from a YAML file (by name): the API's shape, with names for ids.",
        "pfai rule apply -f rules.yaml",
        "cat rules.yaml | pfai rule apply -f -",
    ),
)
@click.option("-f", "--file", "file", required=True, metavar="FILE", help="The rules (YAML; `-` for stdin).")
def apply(file: str) -> None:
    specs = load_rules(file)
    directory = Directory(api_client())
    client = directory.client
    existing = {r["name"].lower(): r for r in client.all_items("/rules")}
    results: list[Row] = []
    for spec in specs:
        body = api_body(directory, dict(spec))
        current = existing.get(str(spec["name"]).lower())
        if current is None:
            saved = client.post("/rules", body)
            results.append({**saved, "result": "created"})
        else:
            saved = client.patch(f"/rules/{path_segment(current['id'])}", body)
            results.append({**saved, "result": "updated"})
    emit(
        results,
        table(
            [
                Column("RESULT", lambda r: r["result"]),
                Column("ID", lambda r: short_id(r["id"])),
                Column("NAME", lambda r: r["name"], flexible=True),
            ],
            "No rules in the file.",
        ),
    )


__all__ = ["apply", "rule"]
