"""SLA breaches: the deadlines of live tickets, and counters of running deadlines per day, for "breached now".

A breach happens by the clock passing, not by an event: a row holds the time after which
the ticket counts as breached (`TicketSummary.breach_watch`: its deadline while open or
pending, a target it had already missed when put on hold) and whether there is one
(`running`); a ticket is breached when it runs and `now` is past that time. `decided` says
whether its breach is already a fact whatever the time (`sla_breach_decided`): tickets that
ever breached are the decided ones (`<copy>_decided`, per scope) plus the undecided ones
breached now, which the counters below also count apart. Both come from this one copy, so
they are read at one position. The row also says whether the breach of
that deadline has been recorded on the ticket (a `Ticket.SlaBreached` event), which is
what the breach recorder (`projections.breaches`) looks for.

Counting "breached now" row by row would cost as much as there are breached tickets.
So the projection also keeps counters of running tickets by when their deadline falls
(`<copy>_buckets`; scopes as in ticket stats: the org, each team, each assignee), at two
widths: UTC days, and spans of 32 days. They are updated by deltas in the batch
transaction like every other row. The count at `now` is exact: the 32-day spans before
the current one, plus the days of the current span before today (all those deadlines
have passed), plus a range count over today's deadlines before `now`. That reads at most
one row per past span, 31 day rows and one day of deadlines, however many tickets there
are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from projections.base import (
    Change,
    ReadModel,
    add_to_counters,
    encode_state,
    micros,
    micros_or_none,
    write_ticket_rows,
)
from projections.summary import TicketSummary
from projections.ticket_stats import ASSIGNEE_SCOPE, ORG_SCOPE, TEAM_SCOPE, scopes
from projections.views import Cursor, Dialect

# One UTC day in microseconds: the fine bucket. A coarse bucket is SPAN consecutive days.
DAY = 86_400 * 1_000_000
SPAN = 32

BucketKey = tuple[str, str, str, int, int]  # org_id, scope, scope_id, days (1 or SPAN), bucket
# The counters of running tickets whose breach is not yet decided, per scope: "<scope>~undecided".
UNDECIDED = "~undecided"
BUCKET_COLUMNS = ("org_id", "scope", "scope_id", "days", "bucket")

# The column of the tickets table that narrows a scope's range count.
SCOPE_COLUMNS = {ORG_SCOPE: None, TEAM_SCOPE: "team_id", ASSIGNEE_SCOPE: "assignee_id"}


def day_of(deadline: int) -> int:
    """The day bucket of a deadline in microseconds (non-negative: times after 1970)."""
    return deadline // DAY


def running_buckets(s: TicketSummary) -> list[BucketKey]:
    """The bucket counters a ticket adds 1 to: none unless its SLA clock runs."""
    deadline = s.breach_watch
    if deadline is None:
        return []
    day = day_of(micros(deadline))
    counted = scopes(s)
    if not s.sla_breach_decided:
        counted += [(scope + UNDECIDED, scope_id) for scope, scope_id in counted]
    keys: list[BucketKey] = []
    for scope, scope_id in counted:
        keys.append((s.org_id, scope, scope_id, 1, day))
        keys.append((s.org_id, scope, scope_id, SPAN, day // SPAN))
    return keys


DecidedKey = tuple[str, str, str]  # org_id, scope, scope_id
DECIDED_COLUMNS = ("org_id", "scope", "scope_id")


def decided_scopes(s: TicketSummary) -> list[DecidedKey]:
    """The decided-breach counters a ticket adds 1 to."""
    return [(s.org_id, scope, scope_id) for scope, scope_id in scopes(s)] if s.sla_breach_decided else []


class SlaBreaches(ReadModel):
    name = "sla_breaches"

    def ddl(self, dialect: Dialect, prefix: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {prefix}_tickets ("
            "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, team_id TEXT, assignee_id TEXT, "
            "deadline BIGINT, running BOOLEAN NOT NULL, recorded BOOLEAN NOT NULL, decided BOOLEAN NOT NULL, "
            f"state {dialect.blob_type} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {prefix}_buckets ("
            "org_id TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL, days INTEGER NOT NULL, "
            "bucket BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (org_id, scope, scope_id, days, bucket))",
            f"CREATE TABLE IF NOT EXISTS {prefix}_decided ("
            "org_id TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL, n BIGINT NOT NULL, "
            "PRIMARY KEY (org_id, scope, scope_id))",
        ]

    def serving_ddl(self, dialect: Dialect, prefix: str) -> list[str]:
        t = f"{prefix}_tickets"
        return [
            f"CREATE INDEX IF NOT EXISTS {t}_org ON {t} (org_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_team ON {t} (org_id, team_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_assignee ON {t} (org_id, assignee_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_unrecorded ON {t} (deadline) WHERE running AND NOT recorded",
        ]

    def write(self, curs: Cursor, dialect: Dialect, prefix: str, changes: Sequence[Change]) -> None:
        deltas: Counter[BucketKey] = Counter()
        decided: Counter[DecidedKey] = Counter()
        for change in changes:
            if change.before is not None:
                deltas.subtract(running_buckets(change.before))
                decided.subtract(decided_scopes(change.before))
            if change.after is not None:
                deltas.update(running_buckets(change.after))
                decided.update(decided_scopes(change.after))
        write_ticket_rows(curs, dialect, f"{prefix}_tickets", changes, self._row)
        add_to_counters(curs, dialect, f"{prefix}_buckets", BUCKET_COLUMNS, deltas)
        add_to_counters(curs, dialect, f"{prefix}_decided", DECIDED_COLUMNS, decided)

    @staticmethod
    def _row(s: TicketSummary) -> dict[str, Any]:
        deadline = s.breach_watch
        return {
            "ticket_id": s.id,
            "org_id": s.org_id,
            "team_id": s.team_id,
            "assignee_id": s.assignee_id,
            "deadline": micros_or_none(deadline),
            "running": deadline is not None,
            "recorded": deadline is not None and s.breach_recorded_for == deadline,
            "decided": s.sla_breach_decided,
            "state": encode_state(s),
        }

    # ------------------------------------------------------------------ queries

    def breached_count(
        self,
        curs: Cursor,
        dialect: Dialect,
        prefix: str,
        org_id: str,
        now: datetime,
        scope: str = ORG_SCOPE,
        scope_id: str = "",
        undecided_only: bool = False,
    ) -> int:
        """How many of the org's (team's, assignee's) live tickets are breached now (`undecided_only`:
        of those whose breach is not yet decided).

        The counters of the spans before the current one and of the current span's days before
        today, plus the running deadlines of today that are before `now`.
        """
        now_micros = micros(now)
        today = day_of(now_micros)
        span = today // SPAN
        column = SCOPE_COLUMNS[scope]
        narrow = f" AND {column} = ?" if column else ""
        if undecided_only:
            narrow += " AND NOT decided"
            scope += UNDECIDED
        scoped = "org_id = ? AND scope = ? AND scope_id = ?"
        curs.execute(
            dialect.sql(
                f"SELECT (SELECT COALESCE(SUM(n), 0) FROM {prefix}_buckets "
                f"WHERE {scoped} AND days = {SPAN} AND bucket < ?) + "
                f"(SELECT COALESCE(SUM(n), 0) FROM {prefix}_buckets "
                f"WHERE {scoped} AND days = 1 AND bucket >= ? AND bucket < ?) + "
                f"(SELECT COUNT(*) FROM {prefix}_tickets WHERE org_id = ?{narrow} "
                "AND running AND deadline >= ? AND deadline < ?) AS n"
            ),
            [
                *(org_id, scope, scope_id, span),
                *(org_id, scope, scope_id, span * SPAN, today),
                org_id,
                *([scope_id] if column else []),
                today * DAY,
                now_micros,
            ],
        )
        row = curs.fetchone()
        return int(row["n"]) if row is not None else 0

    def decided_count(
        self,
        curs: Cursor,
        dialect: Dialect,
        prefix: str,
        org_id: str,
        scope: str = ORG_SCOPE,
        scope_id: str = "",
    ) -> int:
        """How many of the org's (team's, assignee's) live tickets have a breach that is already a fact."""
        curs.execute(
            dialect.sql(f"SELECT n FROM {prefix}_decided WHERE org_id = ? AND scope = ? AND scope_id = ?"),
            (org_id, scope, scope_id),
        )
        row = curs.fetchone()
        return int(row["n"]) if row is not None else 0

    def unrecorded(self, curs: Cursor, dialect: Dialect, prefix: str, now: datetime, limit: int) -> list[str]:
        """Ids of tickets breached by `now` whose breach is not yet recorded, most overdue first."""
        curs.execute(
            dialect.sql(
                f"SELECT ticket_id FROM {prefix}_tickets WHERE running AND NOT recorded AND deadline < ? "
                "ORDER BY deadline LIMIT ?"
            ),
            (micros(now), limit),
        )
        return [str(r["ticket_id"]) for r in curs.fetchall()]


__all__ = ["DAY", "SPAN", "SlaBreaches", "day_of", "running_buckets"]
