"""Ticket stats: counters per org (and per team, per assignee) kept up to date by the projection.

Each live ticket contributes 1 to `total` and to its status, priority and category, in
the org's scope and in its team's and assignee's scopes. A batch turns each changed
ticket's (before, after) into counter deltas and adds them, so a stats answer reads a
dozen counter rows however many tickets there are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from projections.base import Change, ReadModel, add_to_counters, encode_state, write_ticket_rows
from projections.summary import TicketSummary
from projections.views import Cursor, Dialect
from tickets.domain.values import Category, Priority, Status

ORG_SCOPE = "org"
TEAM_SCOPE = "team"
ASSIGNEE_SCOPE = "assignee"

CounterKey = tuple[str, str, str, str, str]  # org_id, scope, scope_id, field, value
COUNTER_COLUMNS = ("org_id", "scope", "scope_id", "field", "value")


def scopes(s: TicketSummary) -> list[tuple[str, str]]:
    """The scopes a live ticket counts in: its org, its team, its assignee."""
    found = [(ORG_SCOPE, "")]
    if s.team_id:
        found.append((TEAM_SCOPE, s.team_id))
    if s.assignee_id:
        found.append((ASSIGNEE_SCOPE, s.assignee_id))
    return found


def contributions(s: TicketSummary) -> list[CounterKey]:
    """The counters one live ticket adds 1 to."""
    keys: list[CounterKey] = []
    for scope, scope_id in scopes(s):
        keys.append((s.org_id, scope, scope_id, "total", ""))
        keys.append((s.org_id, scope, scope_id, "status", s.status))
        keys.append((s.org_id, scope, scope_id, "priority", s.priority))
        keys.append((s.org_id, scope, scope_id, "category", s.category))
    return keys


@dataclass(frozen=True)
class Counts:
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_category: dict[str, int]


class TicketStats(ReadModel):
    name = "ticket_stats"

    def ddl(self, dialect: Dialect, prefix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {prefix}_tickets ("
            f"ticket_id TEXT PRIMARY KEY, state {dialect.blob_type} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {prefix}_counts ("
            "org_id TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL, "
            "field TEXT NOT NULL, value TEXT NOT NULL, n BIGINT NOT NULL, "
            "PRIMARY KEY (org_id, scope, scope_id, field, value))",
        ]

    def write(self, curs: Cursor, dialect: Dialect, prefix: str, changes: Sequence[Change]) -> None:
        deltas: Counter[CounterKey] = Counter()
        for change in changes:
            if change.before is not None:
                deltas.subtract(contributions(change.before))
            if change.after is not None:
                deltas.update(contributions(change.after))
        write_ticket_rows(
            curs,
            dialect,
            f"{prefix}_tickets",
            changes,
            lambda s: {"ticket_id": s.id, "state": encode_state(s)},
        )
        add_to_counters(curs, dialect, f"{prefix}_counts", COUNTER_COLUMNS, deltas)

    def counts(
        self, curs: Cursor, dialect: Dialect, prefix: str, org_id: str, scope: str, scope_id: str
    ) -> Counts:
        curs.execute(
            dialect.sql(
                f"SELECT field, value, n FROM {prefix}_counts WHERE org_id = ? AND scope = ? AND scope_id = ?"
            ),
            (org_id, scope, scope_id),
        )
        total = 0
        by_status = {s.value: 0 for s in Status}
        by_priority = {p.value: 0 for p in Priority}
        by_category = {c.value: 0 for c in Category}
        tables = {"status": by_status, "priority": by_priority, "category": by_category}
        for row in curs.fetchall():
            field, value, n = row["field"], row["value"], int(row["n"])
            if field == "total":
                total = n
            elif field in tables and value in tables[field]:
                tables[field][value] = n
        return Counts(total, by_status, by_priority, by_category)


__all__ = ["ASSIGNEE_SCOPE", "ORG_SCOPE", "TEAM_SCOPE", "Counts", "TicketStats", "contributions", "scopes"]
