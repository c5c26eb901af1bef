"""Ticket stats: counters per org (and per team, per assignee), moved by each changed ticket's deltas
(`CounterModel`), so a stats answer reads a dozen counter rows however many tickets there are.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from enum import StrEnum
from typing import NamedTuple

from projections.base import CounterModel, Scope, scopes
from projections.summary import TicketSummary
from projections.views import Copy, Cursor
from tickets.domain.values import Category, Priority, Status


class Counts(NamedTuple):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_category: dict[str, int]


class TicketStats(CounterModel):
    name = "ticket_stats"
    tables = {
        "tickets": "ticket_id TEXT PRIMARY KEY, state {blob} NOT NULL",
        "counts": "org_id TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL, "
        "field TEXT NOT NULL, value TEXT NOT NULL, n BIGINT NOT NULL, "
        "PRIMARY KEY (org_id, scope, scope_id, field, value)",
    }
    counter_keys = {"counts": ("org_id", "scope", "scope_id", "field", "value")}

    def counted(self, s: TicketSummary) -> Iterable[tuple[str, tuple[Hashable, ...]]]:
        fields = (("total", ""), ("status", s.status), ("priority", s.priority), ("category", s.category))
        for scope, scope_id in scopes(s):
            for field, value in fields:
                yield "counts", (s.org_id, scope, scope_id, field, value)

    def counts(self, curs: Cursor, copy: Copy, org_id: str, scope: Scope, scope_id: str) -> Counts:
        curs.execute(
            f"SELECT field, value, n FROM {copy.prefix}_counts WHERE org_id = ? AND scope = ? AND scope_id = ?",
            (org_id, scope.name, scope_id),
        )
        found = {(row["field"], row["value"]): int(row["n"]) for row in curs.fetchall()}

        def by(field: str, values: type[StrEnum]) -> dict[str, int]:
            return {v.value: found.get((field, v.value), 0) for v in values}

        return Counts(
            found.get(("total", ""), 0),
            by("status", Status),
            by("priority", Priority),
            by("category", Category),
        )
