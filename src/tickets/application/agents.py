"""Dispatching agents: what an @-mention or a rule does to a loaded ticket (the caller saves it).

`dispatch_agent` is the seam for rules: a rule action calls it on the ticket it is changing and
saves the ticket with its other changes, so the dispatch and its cause commit together (or
`TicketService.dispatch_agent` loads, dispatches and saves on its own). The dispatcher
(`agent_dispatcher.py`) follows the `Ticket.AgentDispatched` events these record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from tickets.domain.organization import Organization
from tickets.domain.ticket import Ticket


def dispatch_agent(
    org: Organization,
    ticket: Ticket,
    agent: str | UUID,
    instruction: str,
    dispatched_by: UUID | None,
    *,
    source: str = "rule",
    at: datetime,
) -> UUID:
    """Record on `ticket` a dispatch to `agent` (its id, or its @handle) with `instruction`; returns the
    dispatch id. Raises NotFoundError for an unknown agent (or a member who is not one)."""
    member = org.find_agent(str(agent))
    dispatch_id = uuid4()
    ticket.dispatch_agent(member.id, dispatch_id, instruction, source, dispatched_by, at)
    return dispatch_id


def dispatch_mentioned_agents(
    ticket: Ticket,
    org: Organization,
    mentions: Sequence[UUID],
    content: str,
    author_id: UUID,
    at: datetime,
) -> list[UUID]:
    """Dispatch each agent a message or note mentions, with the text as the instruction.

    An agent's own messages dispatch nobody: agents cannot set each other (or themselves) off in a
    loop. Edits dispatch nobody either: a mention dispatches once, when it is written.
    """
    author = org.members.get(str(author_id))
    if author is not None and author.is_agent:
        return []
    dispatched = []
    for user_id in mentions:
        member = org.members.get(str(user_id))
        if member is not None and member.is_agent:
            dispatch_id = uuid4()
            ticket.dispatch_agent(member.id, dispatch_id, content, "mention", author_id, at)
            dispatched.append(dispatch_id)
    return dispatched


__all__ = ["dispatch_agent", "dispatch_mentioned_agents"]
