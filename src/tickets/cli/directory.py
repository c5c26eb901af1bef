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


class Directory:
    """Lookups over the org's members, teams, tags, canned responses and SLA policies."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    @cached_property
    def me(self) -> Item:
        me: Item = self.client.get("/me")
        return me

    @cached_property
    def members(self) -> list[Item]:
        members: list[Item] = self.client.all_items("/users")
        return members

    @cached_property
    def teams(self) -> list[Item]:
        teams: list[Item] = self.client.all_items("/teams")
        return teams

    @cached_property
    def tags(self) -> list[Item]:
        tags: list[Item] = self.client.all_items("/ticket-tags")
        return tags

    @cached_property
    def canned_responses(self) -> list[Item]:
        canned: list[Item] = self.client.all_items("/canned-responses")
        return canned

    @cached_property
    def sla_policies(self) -> list[Item]:
        policies: list[Item] = self.client.all_items("/sla-policies")
        return policies

    # -------------------------------------------------------------- name -> id

    def member_id(self, ref: str) -> str:
        """A member by `me`, @handle, handle, e-mail, name or id."""
        if ref.strip().lower() == "me":
            return str(self.me["user"]["id"])
        return str(find_one("member", self.members, ref, member_names)["id"])

    def team_id(self, ref: str) -> str:
        return str(find_one("team", self.teams, ref, named)["id"])

    def tag_id(self, ref: str) -> str:
        return str(find_one("tag", self.tags, ref, named)["id"])

    def canned_response(self, ref: str) -> Item:
        return find_one("canned response", self.canned_responses, ref, named)

    def sla_policy_id(self, ref: str) -> str:
        return str(find_one("SLA policy", self.sla_policies, ref, lambda p: [])["id"])

    # -------------------------------------------------------------- id -> name

    def member_label(self, member_id: Any) -> str:
        """`@handle` of a member, or a short id when it is not (or no longer) a member."""
        if not member_id:
            return "-"
        for member in self.members:
            if member["id"] == str(member_id):
                return f"@{member['handle']}"
        return str(member_id)[:8]

    def team_name(self, team_id: Any) -> str:
        if not team_id:
            return "-"
        return next((t["name"] for t in self.teams if t["id"] == str(team_id)), str(team_id)[:8])

    def tag_name(self, tag_id: Any) -> str:
        if not tag_id:
            return "-"
        return next((t["name"] for t in self.tags if t["id"] == str(tag_id)), str(tag_id)[:8])
