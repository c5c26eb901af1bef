"""Where the rule engine has got to in the log: a tracked follower with no rows of its own.

The engine (`application/rules.py`) records its work on the tickets themselves (a `RuleRun` marker
per rule and trigger, saved with the rule's changes), which is what makes each (rule, trigger) run
exactly once, across retries, restarts and servers. What it needs from the read side is only to be
handed the trigger events in log order, once each as far as possible: this copy's tracking record
is the position it has got to, and its writer lock keeps two servers from running one batch together.
The batch runs the rules *before* the position is recorded: a crash in between runs that batch again,
and the markers make the second run record nothing.

It is not one of the read models (`ALL_MODELS`): rebuilding it would only walk the log again (the
markers, and each rule reacting only to events after it was written, keep history untouched), so
`pfai projections rebuild` leaves it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from eventsourcing.application import Application

from projections.base import BatchResult
from projections.portal import EventModel
from projections.views import Copy, Cursor, View, ViewDatabase
from tickets.domain.rules import RULE_ENGINE_EVENT_TYPES, same_save


def _nothing(self: Any, curs: Cursor, copy: Copy, e: Any, position: int) -> None:
    """The engine acts on the events; this copy keeps only its position."""


class RuleTriggers(EventModel):
    """The topics of the trigger events (and of the rules' runs, which separate saves) and the engine's
    tracking record."""

    name = "rule_triggers"
    tables: ClassVar[dict[str, str]] = {}
    handlers: ClassVar[dict[type[Any], Callable[[Any, Cursor, Copy, Any, int], None]]] = dict.fromkeys(
        RULE_ENGINE_EVENT_TYPES, _nothing
    )


RULE_TRIGGERS = RuleTriggers()


def apply_rules(
    views: ViewDatabase,
    app: Application[Any],
    view: View,
    run: Callable[[Sequence[Any]], int],
    limit: int = 500,
) -> BatchResult:
    """Hand the next trigger events to `run` (the engine) and record the position reached.

    A full batch leaves out its last save's events (one actor's changes to a ticket at one moment are
    one trigger), unless they are the whole batch: the next batch starts with them.
    """
    with views.batch(view) as cursors:
        curs = cursors.get(view.copy)
        if curs is None:
            return BatchResult(locked_out=True)
        start = view.position_in(curs)
        head = app.recorder.max_notification_id() or 0
        if head <= start:
            return BatchResult(position=start)
        notifications = app.recorder.select_notifications(
            start + 1, limit, stop=head, topics=RULE_TRIGGERS.topics
        )
        events = [app.mapper.to_domain_event(n) for n in notifications]
        end = head
        if len(notifications) == limit:
            keep = len(events) - 1  # the first event of the last save in the batch
            while keep > 0 and same_save(events[keep - 1], events[-1]):
                keep -= 1
            if keep > 0:
                events, notifications = events[:keep], notifications[:keep]
            end = notifications[-1].id
        run(events)
        view.record(curs, end)
    return BatchResult(events=len(events), position=end, advanced=True)


__all__ = ["RULE_TRIGGERS", "RuleTriggers", "apply_rules"]
