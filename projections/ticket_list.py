"""The ticket list: one row per live ticket, filterable and sortable, paged by keyset.

Columns exist for what a list filters or sorts on; what it shows comes from the row's
encoded summary. Times are integer microseconds. A deleted ticket's row is removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from projections.base import ReadModel, breached_now, micros, micros_or_none
from projections.summary import SUMMARY_DECODER, TicketSummary, words
from projections.views import Copy, Cursor, Dialect
from tickets.domain.values import PRIORITY_RANK, Priority

# slaDeadline sorts tickets without a deadline last (ascending): they stand in as the far future.
NO_DEADLINE = 2**62

# Sort name -> the column ordered on (ties broken by ticket number, so keys are unique).
SORT_COLUMNS = {
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "priority": "priority_rank",
    "slaDeadline": "sla_sort",
}


@dataclass
class ListFilters:
    """Filters of `GET /tickets`: values of one filter are OR-ed, filters are AND-ed. Empty = any."""

    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    assignee_ids: list[str] = field(default_factory=list)
    unassigned: bool = False
    team_ids: list[str] = field(default_factory=list)
    tag_ids: list[str] | None = None  # None: no tag filter; []: a tag filter that matched no tag
    contact_emails: list[str] = field(default_factory=list)
    query: str = ""
    breached: bool | None = None
    updated_since: datetime | None = None  # only tickets changed at or after this time
    # Private teams the reader is not in: their tickets are left out (`Organization.hidden_team_ids`).
    hidden_team_ids: list[str] = field(default_factory=list)


class ListPage(NamedTuple):
    rows: list[TicketSummary]
    # The keyset position after the last row, when more rows follow.
    next_after: tuple[int, int] | None


def contact_key(email: str) -> str:
    """How a contact e-mail is stored and matched: case-insensitive, without NUL characters (PostgreSQL
    refuses them in text, and a row it cannot write would stop the batch, and so the read side, for good)."""
    return email.lower().replace("\x00", "")


class TicketList(ReadModel):
    name = "ticket_list"

    tables = {
        "tickets": "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, number BIGINT NOT NULL, "
        "status TEXT NOT NULL, priority TEXT NOT NULL, priority_rank INTEGER NOT NULL, "
        "category TEXT NOT NULL, source TEXT NOT NULL, team_id TEXT, assignee_id TEXT, "
        "contact_email TEXT, tag_ids {text_set} NOT NULL, words {text_set} NOT NULL, "
        "sla_deadline BIGINT, sla_sort BIGINT NOT NULL, sla_running BOOLEAN NOT NULL, "
        "created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, state {blob} NOT NULL",
    }

    def serving_ddl(self, copy: Copy) -> list[str]:
        t, gin = f"{copy.prefix}_tickets", copy.dialect.set_index
        return [
            *(
                f"CREATE INDEX IF NOT EXISTS {t}_{c} ON {t} (org_id, {c}, number)"
                for c in SORT_COLUMNS.values()
            ),
            *(
                f"CREATE INDEX IF NOT EXISTS {t}_{c}_created ON {t} (org_id, {c}, created_at, number)"
                for c in ("status", "assignee_id", "team_id")
            ),
            f"CREATE INDEX IF NOT EXISTS {t}_contact ON {t} (org_id, contact_email)",
            f"CREATE INDEX IF NOT EXISTS {t}_breach ON {t} (org_id, sla_deadline) WHERE sla_running",
            *(gin.format(table=t, column=c) for c in ("tag_ids", "words") if gin),
        ]

    def row(self, s: TicketSummary, state: bytes, dialect: Dialect) -> dict[str, Any]:
        deadline = micros_or_none(s.sla_deadline)
        watch = micros_or_none(s.breach_watch)
        return {
            "ticket_id": s.id,
            "org_id": s.org_id,
            "number": s.number,
            "status": s.status,
            "priority": s.priority,
            "priority_rank": PRIORITY_RANK[Priority(s.priority)],
            "category": s.category,
            "source": s.source,
            "team_id": s.team_id,
            "assignee_id": s.assignee_id,
            "contact_email": contact_key(s.contact_email) if s.contact_email else None,
            "tag_ids": dialect.encode_set(s.tag_ids),
            "words": dialect.encode_set(s.search_words()),
            # The breach filter compares this column: the time after which the ticket counts as breached.
            "sla_deadline": watch,
            "sla_sort": NO_DEADLINE if deadline is None else deadline,
            "sla_running": watch is not None,
            "created_at": micros(s.created_at),
            "updated_at": micros(s.updated_at),
            "state": state,
        }

    def page(
        self,
        curs: Cursor,
        copy: Copy,
        org_id: str,
        filters: ListFilters,
        now: datetime,
        sort: str = "-createdAt",
        after: tuple[int, int] | None = None,
        limit: int = 50,
    ) -> ListPage:
        """One page of the org's tickets; `after` is the keyset position of the previous page's end."""
        descending = sort.startswith("-")
        column = SORT_COLUMNS[sort.lstrip("-")]
        dialect = copy.dialect
        where, params = self._where(dialect, org_id, filters, now)
        if filters.tag_ids is not None and not filters.tag_ids:
            return ListPage([], None)
        if after is not None:
            where.append(f"({column}, number) {'<' if descending else '>'} (?, ?)")
            params.extend(after)
        direction = "DESC" if descending else "ASC"
        curs.execute(
            f"SELECT {column} AS sort_key, number, state FROM {copy.prefix}_tickets "
            f"WHERE {' AND '.join(where)} ORDER BY {column} {direction}, number {direction} LIMIT ?",
            [*params, limit + 1],
        )
        found = curs.fetchall()
        rows = [SUMMARY_DECODER.decode(bytes(r["state"])) for r in found[:limit]]
        next_after = None
        if len(found) > limit:
            last = found[limit - 1]
            next_after = (int(last["sort_key"]), int(last["number"]))
        return ListPage(rows, next_after)

    def open_counts(self, curs: Cursor, copy: Copy, org_id: str, member_ids: Sequence[str]) -> dict[str, int]:
        """How many open tickets (not resolved or closed) each of these members is assigned."""
        if not member_ids:
            return {}
        members, params = copy.dialect.in_list("assignee_id", member_ids)
        curs.execute(
            f"SELECT assignee_id, COUNT(*) AS n FROM {copy.prefix}_tickets WHERE org_id = ? AND {members} "
            "AND status NOT IN ('resolved', 'closed') GROUP BY assignee_id",
            (org_id, *params),
        )
        return {r["assignee_id"]: int(r["n"]) for r in curs.fetchall()}

    @staticmethod
    def _where(dialect: Dialect, org_id: str, f: ListFilters, now: datetime) -> tuple[list[str], list[Any]]:
        where = ["org_id = ?"]
        params: list[Any] = [org_id]

        def add(condition: str, values: Sequence[Any]) -> None:
            where.append(condition)
            params.extend(values)

        for column, values in (
            ("status", f.statuses),
            ("priority", f.priorities),
            ("category", f.categories),
            ("source", f.sources),
            ("team_id", f.team_ids),
            ("contact_email", [contact_key(e) for e in f.contact_emails]),
        ):
            if values:
                add(*dialect.in_list(column, values))
        if f.assignee_ids and f.unassigned:
            condition, values = dialect.in_list("assignee_id", f.assignee_ids)
            add(f"({condition} OR assignee_id IS NULL)", values)
        elif f.assignee_ids:
            add(*dialect.in_list("assignee_id", f.assignee_ids))
        elif f.unassigned:
            add("assignee_id IS NULL", [])
        if f.tag_ids:
            add(*dialect.set_contains("tag_ids", f.tag_ids, every=False))
        if query_words := words(f.query):
            add(*dialect.set_contains("words", query_words, every=True))
        if f.updated_since is not None:
            add("updated_at >= ?", [micros(f.updated_since)])
        if f.hidden_team_ids:
            condition, values = dialect.in_list("team_id", f.hidden_team_ids)
            add(f"(team_id IS NULL OR NOT {condition})", values)
        if f.breached is not None:
            breached = breached_now("sla_running", "sla_deadline")
            add(breached if f.breached else f"NOT ({breached})", [micros(now)])
        return where, params
