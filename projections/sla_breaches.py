"""SLA breaches: the deadlines of live tickets, indexed, so "breached now" is answered at query time.

A breach happens by the clock passing, not by an event: a row holds the ticket's
`sla_deadline` and whether its SLA clock runs (open or pending); a ticket is breached
when it runs and `now` is past the deadline. The row also says whether the breach of
that deadline has been recorded on the ticket (a `Ticket.SlaBreached` event), which is
what the breach recorder (`projections.breaches`) looks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from projections.base import Change, ReadModel, encode_state, micros, micros_or_none
from projections.views import Cursor, Dialect


class SlaBreaches(ReadModel):
    name = "sla_breaches"

    def ddl(self, dialect: Dialect, prefix: str) -> list[str]:
        t = f"{prefix}_tickets"
        return [
            f"CREATE TABLE IF NOT EXISTS {t} ("
            "ticket_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, team_id TEXT, assignee_id TEXT, "
            "deadline BIGINT, running BOOLEAN NOT NULL, recorded BOOLEAN NOT NULL, "
            f"state {dialect.blob_type} NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t}_org ON {t} (org_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_team ON {t} (org_id, team_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_assignee ON {t} (org_id, assignee_id, deadline) WHERE running",
            f"CREATE INDEX IF NOT EXISTS {t}_unrecorded ON {t} (deadline) WHERE running AND NOT recorded",
        ]

    def write(self, curs: Cursor, dialect: Dialect, prefix: str, changes: Sequence[Change]) -> None:
        t = f"{prefix}_tickets"
        gone = [c.ticket_id for c in changes if c.after is None and c.before is not None]
        rows = []
        for change in changes:
            s = change.after
            if s is None:
                continue
            deadline = s.sla_deadline
            rows.append(
                (
                    s.id,
                    s.org_id,
                    s.team_id,
                    s.assignee_id,
                    micros_or_none(deadline),
                    s.sla_clock_running,
                    deadline is not None and s.breach_recorded_for == deadline,
                    encode_state(s),
                )
            )
        if gone:
            condition, params = dialect.in_list("ticket_id", gone)
            curs.execute(dialect.sql(f"DELETE FROM {t} WHERE {condition}"), params)
        if rows:
            curs.executemany(
                dialect.sql(
                    f"INSERT INTO {t} (ticket_id, org_id, team_id, assignee_id, deadline, running, recorded, "
                    "state) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id) DO UPDATE SET "
                    "org_id = excluded.org_id, team_id = excluded.team_id, "
                    "assignee_id = excluded.assignee_id, deadline = excluded.deadline, "
                    "running = excluded.running, recorded = excluded.recorded, state = excluded.state"
                ),
                rows,
            )

    # ------------------------------------------------------------------ queries

    def breached_count(
        self,
        curs: Cursor,
        dialect: Dialect,
        prefix: str,
        org_id: str,
        now: datetime,
        team_id: str | None = None,
        assignee_id: str | None = None,
    ) -> int:
        """How many of the org's (team's, assignee's) live tickets are past their running deadline."""
        where = ["org_id = ?", "running", "deadline < ?"]
        params: list[object] = [org_id, micros(now)]
        if team_id is not None:
            where.append("team_id = ?")
            params.append(team_id)
        if assignee_id is not None:
            where.append("assignee_id = ?")
            params.append(assignee_id)
        curs.execute(
            dialect.sql(f"SELECT COUNT(*) AS n FROM {prefix}_tickets WHERE {' AND '.join(where)}"), params
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


__all__ = ["SlaBreaches"]
