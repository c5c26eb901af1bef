"""The built-in `triage` agent: sets a ticket's category and priority, and suggests tags, from the org's
own history.

Its model (`triage_model.py`) is trained on the org's finished tickets (resolved or closed: their
category and priority are final), read from the event log, and kept on disk (`ModelStore`), never
in the log. It is trained on demand (`pfai agent train triage --org SLUG`), when a dispatch finds
none, and again by the follower when it is a day old or the org has opened enough tickets since.
It changes a field only when the model is at least `triage_confidence` sure; otherwise, and with
too little history, it says so in an internal note.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tickets.application.app import TicketsApp
from tickets.application.triage_model import Example, Guess, Guesses, TriageModel, fit, guess
from tickets.domain.organization import Organization
from tickets.domain.registry import TicketCounter
from tickets.domain.ticket import Ticket
from tickets.domain.values import Category, Priority, Status
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.model_store import ModelStore
from tickets.infrastructure.settings import AgentSettings

logger = logging.getLogger("tickets.agents")

MODEL_NAME = "triage"
_FINISHED = {Status.RESOLVED.value, Status.CLOSED.value}
# The ticket events a history is folded from.
_HISTORY_EVENTS: tuple[type[Ticket.Event], ...] = (
    Ticket.Created,
    Ticket.SubjectChanged,
    Ticket.DescriptionChanged,
    Ticket.CategoryChanged,
    Ticket.PriorityChanged,
    Ticket.StatusChanged,
    Ticket.TagAdded,
    Ticket.TagRemoved,
    Ticket.Deleted,
)
_HISTORY_TOPICS = tuple(f"{cls.__module__}:{cls.__qualname__}" for cls in _HISTORY_EVENTS)


@dataclass
class _Past:
    """A ticket as the history fold sees it."""

    subject: str
    description: str
    category: str
    priority: str
    status: str
    tag_ids: list[str]
    created_at: datetime
    deleted: bool = False


def org_history(
    app: TicketsApp, org_id: UUID, before: datetime | None = None
) -> Iterator[tuple[UUID, _Past]]:
    """The org's tickets as the log says they are now (created before `before`, if given), by replay."""
    tickets: dict[UUID, _Past] = {}
    position = 1
    while True:
        page = app.recorder.select_notifications(position, 2000, topics=_HISTORY_TOPICS)
        for notification in page:
            event: Any = app.mapper.to_domain_event(notification)
            if isinstance(event, Ticket.Created):
                if event.org_id == org_id:
                    tickets[event.originator_id] = _Past(
                        event.subject,
                        event.description,
                        event.category,
                        event.priority,
                        Status.OPEN.value,
                        [str(t) for t in event.tag_ids],
                        event.timestamp,
                    )
                continue
            past = tickets.get(event.originator_id)
            if past is None:
                continue
            if isinstance(event, Ticket.SubjectChanged):
                past.subject = event.new
            elif isinstance(event, Ticket.DescriptionChanged):
                past.description = event.new
            elif isinstance(event, Ticket.CategoryChanged):
                past.category = event.new
            elif isinstance(event, Ticket.PriorityChanged):
                past.priority = event.new
            elif isinstance(event, Ticket.StatusChanged):
                past.status = event.new
            elif isinstance(event, Ticket.TagAdded):
                past.tag_ids.append(str(event.tag_id))
            elif isinstance(event, Ticket.TagRemoved):
                past.tag_ids = [t for t in past.tag_ids if t != str(event.tag_id)]
            elif isinstance(event, Ticket.Deleted):
                past.deleted = True
        if not page:
            break
        position = page[-1].id + 1
    for ticket_id, past in tickets.items():
        if not past.deleted and (before is None or past.created_at < before):
            yield ticket_id, past


def labelled_examples(
    app: TicketsApp, org_id: UUID, before: datetime | None = None, excluding: UUID | None = None
) -> list[Example]:
    """The org's finished tickets (resolved or closed), as training examples."""
    return [
        Example(p.subject, p.description, p.category, p.priority, tuple(p.tag_ids))
        for ticket_id, p in org_history(app, org_id, before)
        if p.status in _FINISHED and ticket_id != excluding
    ]


@dataclass(frozen=True)
class TrainReport:
    org_id: UUID
    examples: int
    usable: bool
    reason: str | None
    categories: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TriageDecision:
    """What the triage agent does to one ticket: the fields it sets, its note, and its one-line summary."""

    category: Category | None
    priority: Priority | None
    note: str
    summary: str


class Triage:
    """Trains, keeps and applies each org's triage model."""

    def __init__(
        self,
        app: TicketsApp,
        models: ModelStore,
        settings: AgentSettings = AgentSettings(),
        clock: Clock = system_clock,
    ) -> None:
        self.app = app
        self.models = models
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------------ training

    def train(self, org_id: UUID, before: datetime | None = None) -> TrainReport:
        """Retrain the org's model from its history now (or from tickets created before `before`)."""
        model = fit(labelled_examples(self.app, org_id, before), self.clock(), self._last_number(org_id))
        self.models.save(org_id, MODEL_NAME, model)
        for warning in model.warnings:
            logger.warning("triage model of org %s: %s", org_id, warning)
        return TrainReport(
            org_id,
            model.examples,
            model.usable,
            model.reason,
            [] if model.category is None else [str(c) for c in model.category.classes_],
            [] if model.priority is None else [str(c) for c in model.priority.classes_],
        )

    def model(self, org_id: UUID) -> TriageModel:
        """The org's model, trained first if there is none or it is stale."""
        model = self.models.load(org_id, MODEL_NAME)
        if not isinstance(model, TriageModel) or self.stale(org_id, model):
            self.train(org_id)
            model = self.models.load(org_id, MODEL_NAME)
        assert isinstance(model, TriageModel)
        return model

    def stale(self, org_id: UUID, model: TriageModel) -> bool:
        """Older than `retrain_after`, or `retrain_after_tickets` tickets opened since it was trained."""
        if self.clock() - model.trained_at >= self.settings.retrain_after:
            return True
        return self._last_number(org_id) - model.last_ticket_number >= self.settings.retrain_after_tickets

    def retrain_stale(self) -> int:
        """Retrain every stale model on disk (the follower's schedule); how many were retrained."""
        retrained = 0
        for org_id in self.models.orgs_with(MODEL_NAME):
            model = self.models.load(org_id, MODEL_NAME)
            if not isinstance(model, TriageModel) or self.stale(org_id, model):
                self.train(org_id)
                retrained += 1
        return retrained

    def _last_number(self, org_id: UUID) -> int:
        try:
            counter: TicketCounter = self.app.repository.get(TicketCounter.create_id(org_id))
        except AggregateNotFoundError:
            return 0
        return counter.last_number

    # ------------------------------------------------------------------ deciding

    def decide(self, org: Organization, ticket: Ticket) -> TriageDecision:
        """What to do with `ticket`: set what the model is sure of, note the rest."""
        model = self.model(org.id)
        if not model.usable:
            note = f"Triage: {model.reason}. I changed nothing; categorize this ticket by hand."
            return TriageDecision(None, None, note, str(model.reason))
        guesses = guess(model, ticket.subject, ticket.description)
        return self._decision(org, ticket, model, guesses)

    def _decision(
        self, org: Organization, ticket: Ticket, model: TriageModel, guesses: Guesses
    ) -> TriageDecision:
        threshold = self.settings.triage_confidence
        lines = [f"Triage (a model of {model.examples} finished tickets, acting at {threshold:.0%} or more):"]
        summary = []

        def consider(name: str, found: Guess | None, current: str) -> str | None:
            if found is None:
                lines.append(f"- {name}: no guess (the history has one {name} only)")
                return None
            sure = found.confidence >= threshold
            if sure and found.value != current:
                lines.append(f"- {name}: set to **{found.value}** ({found.confidence:.0%} sure)")
                summary.append(f"{name} → {found.value} ({found.confidence:.0%})")
                return found.value
            if sure:
                lines.append(f"- {name}: **{found.value}** is right ({found.confidence:.0%} sure)")
                summary.append(f"{name} {found.value} kept ({found.confidence:.0%})")
                return None
            lines.append(
                f"- {name}: my guess is {found.value}, only {found.confidence:.0%} sure; left as {current}"
            )
            summary.append(f"{name} left ({found.value}? {found.confidence:.0%})")
            return None

        category = consider("category", guesses.category, ticket.category.value)
        priority = consider("priority", guesses.priority, ticket.priority.value)
        names = [
            org.tags[t].name for t in guesses.tag_ids if t in org.tags and t not in map(str, ticket.tag_ids)
        ]
        if names:
            lines.append(f"- suggested tags: {', '.join(names)}")
            summary.append(f"suggests {', '.join(names)}")
        return TriageDecision(
            Category(category) if category else None,
            Priority(priority) if priority else None,
            "\n".join(lines),
            "; ".join(summary),
        )


__all__ = ["MODEL_NAME", "TrainReport", "Triage", "TriageDecision", "labelled_examples", "org_history"]
