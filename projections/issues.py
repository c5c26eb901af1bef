"""The issues read model: the org's engineering issues for the list, and the links a done issue must
report to its tickets (the policy `tell_tickets_of_done_issues` asks for them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from projections.base import micros
from projections.portal import EventModel, from_micros, text
from projections.views import Copy, Cursor
from tickets.domain.issue import Issue
from tickets.domain.ticket import Ticket


@dataclass(frozen=True)
class IssueRow:
    issue_id: str
    number: int
    title: str
    status: str
    priority: str
    assignee_id: str | None
    created_at: datetime
    updated_at: datetime


def _created(self: Issues, curs: Cursor, copy: Copy, e: Issue.Created, position: int) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_issues (issue_id, org_id, number, title, status, priority, assignee_id, "
        "created_at, updated_at, deleted) VALUES (?, ?, ?, ?, 'backlog', ?, ?, ?, ?, 0)",
        (
            str(e.originator_id),
            str(e.org_id),
            e.issue_number,
            text(e.title),
            e.priority,
            str(e.assignee_id) if e.assignee_id else None,
            micros(e.timestamp),
            micros(e.timestamp),
        ),
    )


def _set(**columns: Callable[[Any], Any]) -> Callable[[Issues, Cursor, Copy, Any, int], None]:
    """A handler that sets columns of the issue's row (and its update time) from the event."""

    def handler(self: Issues, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
        values = {name: value(e) for name, value in columns.items()}
        assignments = "".join(f"{name} = ?, " for name in values)
        curs.execute(
            f"UPDATE {copy.prefix}_issues SET {assignments}updated_at = ? WHERE issue_id = ?",
            (*values.values(), micros(e.timestamp), str(e.originator_id)),
        )

    return handler


def _status_changed(self: Issues, curs: Cursor, copy: Copy, e: Issue.StatusChanged, position: int) -> None:
    _set(status=lambda e: e.new)(self, curs, copy, e, position)
    curs.execute(
        f"UPDATE {copy.prefix}_links SET done = ? WHERE issue_id = ?",
        (1 if e.new == "done" else 0, str(e.originator_id)),
    )


def _ticket_linked(self: Issues, curs: Cursor, copy: Copy, e: Issue.TicketLinked, position: int) -> None:
    curs.execute(
        f"INSERT INTO {copy.prefix}_links (issue_id, ticket_id, done, told) "
        f"SELECT ?, ?, CASE WHEN status = 'done' THEN 1 ELSE 0 END, 0 FROM {copy.prefix}_issues WHERE issue_id = ?",
        (str(e.originator_id), str(e.ticket_id), str(e.originator_id)),
    )
    _set()(self, curs, copy, e, position)


def _ticket_told(self: Issues, curs: Cursor, copy: Copy, e: Ticket.LinkedIssueDone, position: int) -> None:
    curs.execute(
        f"UPDATE {copy.prefix}_links SET told = 1 WHERE issue_id = ? AND ticket_id = ?",
        (str(e.issue_id), str(e.originator_id)),
    )


class Issues(EventModel):
    """Every issue of every org (deleted ones flagged), and the ticket links of each."""

    name = "issues"
    tables: ClassVar[dict[str, str]] = {
        "issues": "issue_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, number INTEGER NOT NULL, title TEXT NOT NULL, "
        "status TEXT NOT NULL, priority TEXT NOT NULL, assignee_id TEXT, created_at BIGINT NOT NULL, "
        "updated_at BIGINT NOT NULL, deleted INTEGER NOT NULL",
        "links": "issue_id TEXT NOT NULL, ticket_id TEXT NOT NULL, done INTEGER NOT NULL, told INTEGER NOT NULL, "
        "PRIMARY KEY (issue_id, ticket_id)",
    }
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = {
        Issue.Created: _created,
        Issue.TitleChanged: _set(title=lambda e: text(e.new)),
        Issue.DescriptionChanged: _set(),
        Issue.StatusChanged: _status_changed,
        Issue.PriorityChanged: _set(priority=lambda e: e.new),
        Issue.Assigned: _set(assignee_id=lambda e: str(e.new) if e.new else None),
        Issue.MetadataChanged: _set(),
        Issue.TicketLinked: _ticket_linked,
        Issue.Deleted: _set(deleted=lambda e: 1),
        Ticket.LinkedIssueDone: _ticket_told,
    }

    def ddl(self, copy: Copy) -> list[str]:
        p = copy.prefix
        return [
            *super().ddl(copy),
            f"CREATE INDEX IF NOT EXISTS {p}_issues_org ON {p}_issues (org_id, number)",
            f"CREATE INDEX IF NOT EXISTS {p}_links_due ON {p}_links (done, told)",
        ]

    def page(
        self,
        curs: Cursor,
        copy: Copy,
        org_id: str,
        status: str | None,
        assignee_id: str | None,
        before: int | None,
        limit: int,
    ) -> tuple[list[IssueRow], int | None]:
        """The org's live issues, newest (highest number) first; keyset pages on the number."""
        where: list[str] = ["org_id = ?", "deleted = 0"]
        params: list[Any] = [org_id]
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if assignee_id is not None:
            where.append("assignee_id IS NULL" if assignee_id == "none" else "assignee_id = ?")
            if assignee_id != "none":
                params.append(assignee_id)
        if before is not None:
            where.append("number < ?")
            params.append(before)
        curs.execute(
            f"SELECT * FROM {copy.prefix}_issues WHERE {' AND '.join(where)} ORDER BY number DESC LIMIT ?",
            (*params, limit + 1),
        )
        rows = curs.fetchall()
        items = [
            IssueRow(
                issue_id=r["issue_id"],
                number=int(r["number"]),
                title=r["title"],
                status=r["status"],
                priority=r["priority"],
                assignee_id=r["assignee_id"],
                created_at=from_micros(r["created_at"]),
                updated_at=from_micros(r["updated_at"]),
            )
            for r in rows[:limit]
        ]
        return items, (items[-1].number if len(rows) > limit else None)

    def done_untold(self, curs: Cursor, copy: Copy, limit: int) -> list[tuple[str, str]]:
        """(issue, ticket) links of done issues whose ticket was not told yet."""
        curs.execute(
            f"SELECT issue_id, ticket_id FROM {copy.prefix}_links WHERE done = 1 AND told = 0 LIMIT ?",
            (limit,),
        )
        return [(r["issue_id"], r["ticket_id"]) for r in curs.fetchall()]


ISSUES = Issues()

__all__ = ["ISSUES", "IssueRow", "Issues"]
