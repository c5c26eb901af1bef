"""Every ticket event type is defined once and is findable from there: its timeline entry and its fold."""

from __future__ import annotations

from projections.summary import evolve
from tickets.domain.ticket import TICKET_EVENT_TYPES, Ticket


def test_the_catalogue_lists_every_ticket_event_class() -> None:
    nested = {
        value
        for value in vars(Ticket).values()
        if isinstance(value, type) and issubclass(value, Ticket.Event)
    }
    assert nested - {Ticket.Event} == set(TICKET_EVENT_TYPES)


def test_every_ticket_event_renders_its_own_timeline_entry() -> None:
    assert not hasattr(Ticket.Event, "activity")  # no fallback: each event class must say how it reads
    for event_class in TICKET_EVENT_TYPES:
        assert callable(getattr(event_class, "activity", None)), (
            f"{event_class.__qualname__} has no activity()"
        )


def test_every_ticket_event_has_a_read_side_handler() -> None:
    for event_class in TICKET_EVENT_TYPES:
        assert evolve.dispatch(event_class) is not evolve.dispatch(object), event_class.__qualname__
