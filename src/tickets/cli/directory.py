"""Names to ids and back: members, teams, tags, canned responses and SLA policies, fetched once per run.

People type `alice`, `support` or `regression`; the API wants UUIDs. A reference matches an item's full
id, a unique id prefix (as shown in tables, 4+ characters), or one of its names (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any

from tickets.cli.client import ApiClient, CliError

Item = dict[str, Any]
MIN_PREFIX = 4


def find_one(kind: str, items: Iterable[Item], ref: str, names: Callable[[Item], Iterable[str]]) -> Item:
    """The one item `ref` points at, or an error naming the candidates."""
    wanted = ref.strip().lower()
    items = list(items)
    for matches in (
        [i for i in items if str(i["id"]).lower() == wanted],
        [i for i in items if wanted in {n.lower() for n in names(i) if n}],
        [i for i in items if len(wanted) >= MIN_PREFIX and str(i["id"]).lower().startswith(wanted)],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            candidates = ", ".join(f"{next(iter(names(m)), '')} ({str(m['id'])[:8]})" for m in matches)
            raise CliError(f"{ref!r} matches several {kind}s: {candidates}; use an id")
    raise CliError(f"no {kind} matches {ref!r}")


def member_names(member: Item) -> list[str]:
    handle = str(member.get("handle") or "")
    return [f"@{handle}", handle, str(member.get("email") or ""), str(member.get("name") or "")]


def named(item: Item) -> list[str]:
    return [str(item.get("name") or item.get("title") or "")]


# Each kind of item: its API collection, and the names a reference may use (SLA policies have none).
KINDS: dict[str, tuple[str, Callable[[Item], Iterable[str]]]] = {
    "member": ("/users", member_names),
    "team": ("/teams", named),
    "tag": ("/ticket-tags", named),
    "canned response": ("/canned-responses", named),
    "SLA policy": ("/sla-policies", lambda policy: []),
    "rule": ("/rules", named),
}


class Directory:
    """Lookups over the org's members, teams, tags, canned responses and SLA policies."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.fetched: dict[str, list[Item]] = {}

    @cached_property
    def me(self) -> Item:
        me: Item = self.client.get("/me")
        return me

    def items(self, kind: str) -> list[Item]:
        """Every item of this kind, fetched on first use."""
        if kind not in self.fetched:
            self.fetched[kind] = self.client.all_items(KINDS[kind][0])
        return self.fetched[kind]

    # -------------------------------------------------------------- name -> id

    def find(self, kind: str, ref: str) -> Item:
        return find_one(kind, self.items(kind), ref, KINDS[kind][1])

    def id_of(self, kind: str, ref: str) -> str:
        """The id of the item of this kind `ref` names; a member may also be `me`."""
        if kind == "member" and ref.strip().lower() == "me":
            return str(self.me["user"]["id"])
        return str(self.find(kind, ref)["id"])

    # -------------------------------------------------------------- id -> name

    def name_of(self, kind: str, item_id: Any, name: Callable[[Item], str]) -> str:
        """An item's name, or a short id when it is not (or no longer) there; `-` for none."""
        if not item_id:
            return "-"
        return next((name(i) for i in self.items(kind) if i["id"] == str(item_id)), str(item_id)[:8])

    def member_label(self, member_id: Any) -> str:
        return self.name_of("member", member_id, lambda member: f"@{member['handle']}")

    def team_name(self, team_id: Any) -> str:
        return self.name_of("team", team_id, lambda team: str(team["name"]))
