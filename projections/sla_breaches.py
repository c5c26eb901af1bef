"""SLA breaches: the deadlines of live tickets, and counters of running deadlines per day, for "breached now".

A breach happens by the clock passing, not by an event, so a row keeps the time after which
its ticket counts as breached (`breach_watch`) and "breached now" is decided at query time.
Counting breached tickets row by row would cost as much as there are of them, so counters of
running deadlines per UTC day and per 32-day span make the count read at most one row per past
span, 31 day rows and one day of deadlines (`breached_count`). The row also says whether the
breach is recorded on the ticket, which the breach recorder looks for. See docs/projections.md.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any

from projections.base import ORG_SCOPE, CounterModel, Scope, breached_now, micros, micros_or_none, scopes
from projections.summary import TicketSummary
from projections.views import Copy, Cursor, Dialect

# One UTC day in microseconds: the fine bucket, `deadline // DAY` (times after 1970, so never negative).
# A coarse bucket is SPAN consecutive days.
DAY = 86_400 * 1_000_000
SPAN = 32

# The counters of running tickets whose breach is not yet decided, per scope: "<scope>~undecided".
UNDECIDED = "~undecided"


class SlaBreaches(CounterModel):
    name = "sla_breaches"
    tables = {
        "tickets": "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, team_id TEXT, assignee_id TEXT, "
        "deadline BIGINT, running BOOLEAN NOT NULL, recorded BOOLEAN NOT NULL, decided BOOLEAN NOT NULL, "
        "window_start BIGINT NOT NULL, warned BOOLEAN NOT NULL, state {blob} NOT NULL",
        "buckets": "org_id TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL, days INTEGER NOT NULL, "
        "bucket BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (org_id, scope, scope_id, days, bucket)",
        "decided": "org_id TEXT NOT NULL, scope TEXT NOT NULL, scope_id TEXT NOT NULL, n BIGINT NOT NULL, "
        "PRIMARY KEY (org_id, scope, scope_id)",
    }
    counter_keys = {
        "buckets": ("org_id", "scope", "scope_id", "days", "bucket"),
        "decided": ("org_id", "scope", "scope_id"),
    }

    def serving_ddl(self, copy: Copy) -> list[str]:
        t = f"{copy.prefix}_tickets"
        return [
            f"CREATE INDEX IF NOT EXISTS {t}_org ON {t} (org_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_team ON {t} (org_id, team_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_assignee ON {t} (org_id, assignee_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_unrecorded ON {t} (deadline) WHERE running AND NOT recorded",
        ]

    def counted(self, s: TicketSummary) -> Iterable[tuple[str, tuple[Hashable, ...]]]:
        """Running tickets by deadline bucket (day and span), per scope, and apart per scope while
        undecided; tickets whose breach is decided, per scope."""
        counted = scopes(s)
        decided = s.sla_breach_decided
        if decided:
            for scope, scope_id in counted:
                yield "decided", (s.org_id, scope, scope_id)
        deadline = s.breach_watch
        if deadline is None:
            return
        day = micros(deadline) // DAY
        if not decided:
            counted += [(scope + UNDECIDED, scope_id) for scope, scope_id in counted]
        for scope, scope_id in counted:
            yield "buckets", (s.org_id, scope, scope_id, 1, day)
            yield "buckets", (s.org_id, scope, scope_id, SPAN, day // SPAN)

    def row(self, s: TicketSummary, state: bytes, dialect: Dialect) -> dict[str, Any]:
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
            # The SLA window starts at creation, later by the time held (as on the ticket).
            "window_start": micros(s.created_at) + round(s.held_seconds * 1_000_000),
            "warned": deadline is not None and s.warned_for == deadline,
            "state": state,
        }

    def breached_count(
        self,
        curs: Cursor,
        copy: Copy,
        org_id: str,
        now: datetime,
        scope: Scope = ORG_SCOPE,
        scope_id: str = "",
        undecided_only: bool = False,
    ) -> int:
        """How many of the org's (team's, assignee's) live tickets are breached now (`undecided_only`:
        of those whose breach is not yet decided).

        The counters of the spans before the current one and of the current span's days before
        today, plus the running deadlines of today that are before `now`.
        """
        now_micros = micros(now)
        today = now_micros // DAY
        span = today // SPAN
        narrow, narrow_values = scope.narrow(scope_id)
        counter = scope.name
        if undecided_only:
            narrow += " AND NOT decided"
            counter += UNDECIDED
        scoped = "org_id = ? AND scope = ? AND scope_id = ?"
        curs.execute(
            f"SELECT (SELECT COALESCE(SUM(n), 0) FROM {copy.prefix}_buckets "
            f"WHERE {scoped} AND days = {SPAN} AND bucket < ?) + "
            f"(SELECT COALESCE(SUM(n), 0) FROM {copy.prefix}_buckets "
            f"WHERE {scoped} AND days = 1 AND bucket >= ? AND bucket < ?) + "
            f"(SELECT COUNT(*) FROM {copy.prefix}_tickets WHERE org_id = ?{narrow} "
            f"AND {breached_now()} AND deadline >= ?) AS n",
            [
                *(org_id, counter, scope_id, span),
                *(org_id, counter, scope_id, span * SPAN, today),
                org_id,
                *narrow_values,
                now_micros,
                today * DAY,
            ],
        )
        row = curs.fetchone()
        return int(row["n"]) if row is not None else 0

    def breaches(
        self, curs: Cursor, copy: Copy, org_id: str, now: datetime, scope: Scope, scope_id: str
    ) -> tuple[int, int]:
        """How many of the org's (team's, assignee's) live tickets are breached now, and how many ever
        breached: those whose breach is decided, a fact no time passing can change, and the others
        that are breached now."""
        curs.execute(
            f"SELECT n FROM {copy.prefix}_decided WHERE org_id = ? AND scope = ? AND scope_id = ?",
            (org_id, scope.name, scope_id),
        )
        row = curs.fetchone()
        decided = int(row["n"]) if row is not None else 0
        undecided = self.breached_count(curs, copy, org_id, now, scope, scope_id, undecided_only=True)
        return self.breached_count(curs, copy, org_id, now, scope, scope_id), decided + undecided

    def unrecorded(self, curs: Cursor, copy: Copy, now: datetime, limit: int) -> list[str]:
        """Ids of tickets breached by `now` whose breach is not yet recorded, most overdue first."""
        curs.execute(
            f"SELECT ticket_id FROM {copy.prefix}_tickets WHERE {breached_now()} AND NOT recorded "
            "ORDER BY deadline LIMIT ?",
            (micros(now), limit),
        )
        return [str(r["ticket_id"]) for r in curs.fetchall()]

    def due_warnings(
        self, curs: Cursor, copy: Copy, now: datetime, percent_of: Callable[[str], int | None], limit: int
    ) -> list[str]:
        """Ids of running tickets, not yet warned of nor breached, of which their org's share of the time
        to the deadline (`percent_of(org_id)`, None: no warnings) has gone by `now`.

        The window starts at creation, moved on by the time held, as on the ticket (which decides).
        """
        at = micros(now)
        waiting = f"running AND NOT recorded AND NOT warned AND deadline > {at}"
        curs.execute(f"SELECT DISTINCT org_id FROM {copy.prefix}_tickets WHERE {waiting}")
        due: list[str] = []
        for org_id in sorted(str(r["org_id"]) for r in curs.fetchall()):
            if len(due) >= limit:
                break
            percent = percent_of(org_id)
            if percent is None:
                continue
            curs.execute(
                f"SELECT ticket_id FROM {copy.prefix}_tickets WHERE org_id = ? AND {waiting} "
                "AND deadline - (deadline - window_start) * ? / 100 <= ? ORDER BY deadline LIMIT ?",
                (org_id, 100 - percent, at, limit - len(due)),
            )
            due += [str(r["ticket_id"]) for r in curs.fetchall()]
        return due
