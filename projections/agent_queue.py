"""The agent queue: each agent dispatch, and when the dispatcher is to look at it next.

A dispatch is recorded on its ticket (`Ticket.AgentDispatched`, by an @-mention or a rule); the
`AgentRun` aggregate records how running it goes (claimed with a lease, delivered to an external
agent that now has until its token expires to report, failed with a retry time, finished), and
its events move the row here. The dispatcher (`application/agent_dispatcher.py`) asks which
dispatches are due and claims each on its run, so two servers never run one dispatch together.
Rebuilt from the log, the queue comes back exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from projections.base import micros
from projections.portal import EventModel
from projections.views import Copy, Cursor
from tickets.domain.agents import AgentRun
from tickets.domain.ticket import Ticket


@dataclass(frozen=True)
class QueuedDispatch:
    """A dispatch to run (or to look at again): its ticket, its agent and its instruction."""

    dispatch_id: str
    ticket_id: str
    agent_id: str
    instruction: str
    source: str
    state: str


def _dispatched(self: AgentQueue, curs: Cursor, copy: Copy, e: Ticket.AgentDispatched, position: int) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_dispatch (run_id, dispatch_id, ticket_id, agent_id, instruction, source, "
        "due_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'dispatched')",
        (
            str(AgentRun.create_id(e.dispatch_id)),
            str(e.dispatch_id),
            str(e.originator_id),
            str(e.agent_id),
            e.instruction.replace("\x00", "\ufffd"),
            e.source,
            micros(e.timestamp),
        ),
    )


def _moved(state: str, due: Callable[[Any], Any]) -> Callable[[AgentQueue, Cursor, Copy, Any, int], None]:
    """A handler that moves the run's row to `state`, due again at `due(event)` (None: never)."""

    def handler(self: AgentQueue, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        at = due(e)
        curs.execute(
            f"UPDATE {copy.prefix}_dispatch SET state = ?, due_at = ? WHERE run_id = ?",
            (state, micros(at) if at is not None else None, str(e.originator_id)),
        )

    return handler


class AgentQueue(EventModel):
    """Dispatches not yet finished, by when the dispatcher is to look at them next."""

    name = "agent_queue"
    tables: ClassVar[dict[str, str]] = {
        "dispatch": "run_id TEXT PRIMARY KEY, dispatch_id TEXT NOT NULL, ticket_id TEXT NOT NULL, "
        "agent_id TEXT NOT NULL, instruction TEXT NOT NULL, source TEXT NOT NULL, due_at BIGINT, "
        "state TEXT NOT NULL",
    }
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        Ticket.AgentDispatched: _dispatched,
        # A claim holds the run until its lease ends: due again then, if its server died.
        AgentRun.Claimed: _moved("running", lambda e: e.lease_until),
        AgentRun.Reclaimed: _moved("running", lambda e: e.lease_until),
        # Delivered: due when the agent's time to report runs out (then it failed, unless it reported).
        AgentRun.Delivered: _moved("waiting", lambda e: e.report_by),
        AgentRun.Failed: _moved("retrying", lambda e: e.retry_at),
        AgentRun.Finished: _moved("finished", lambda e: None),
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            f"CREATE INDEX IF NOT EXISTS {p}_dispatch_due ON {p}_dispatch (due_at) WHERE due_at IS NOT NULL",
        ]

    def due(self, curs: Cursor, copy: Copy, now: Any, limit: int) -> list[QueuedDispatch]:
        """Dispatches to look at by `now` (new, a retry due, a lease or a report time run out), oldest first."""
        curs.execute(
            f"SELECT * FROM {copy.prefix}_dispatch WHERE due_at IS NOT NULL AND due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            (micros(now), limit),
        )
        return [
            QueuedDispatch(
                dispatch_id=r["dispatch_id"],
                ticket_id=r["ticket_id"],
                agent_id=r["agent_id"],
                instruction=r["instruction"],
                source=r["source"],
                state=r["state"],
            )
            for r in curs.fetchall()
        ]


AGENT_QUEUE = AgentQueue()

__all__ = ["AGENT_QUEUE", "AgentQueue", "QueuedDispatch"]
