"""Every event class and every snapshotted value type round-trips through today's stored format exactly.

Events are generated from their classes' own field types (so a new event class is covered the day
it is written), `Any` fields with UUIDs and times nested inside; snapshots hold every value type the
aggregates keep. Written and read back, each is what it was, types included.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, Union
from uuid import UUID

import pytest
from eventsourcing.domain import DomainEvent, Snapshot
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.state import typed
from tickets.application.app import TicketsApp
from tickets.domain.ticket import Message, Ticket
from tickets.infrastructure.msgspec_mapper import EventCodec, MsgspecMapper
from tickets.infrastructure.transcoding import SNAPSHOTTED_VALUE_TYPES


def _event_classes() -> list[type]:
    found: set[type] = set()
    stack: list[type] = [DomainEvent]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            topic = f"{sub.__module__}:{sub.__qualname__}"
            # (The library makes more than one class of some names: the one its topic names is stored.)
            if (
                topic.startswith("tickets.domain")
                and not issubclass(sub, Snapshot)
                and resolve_topic(topic) is sub
            ):
                found.add(sub)
    return sorted(found, key=get_topic)


EVENT_CLASSES = _event_classes()

times = st.datetimes(
    min_value=datetime(1970, 1, 2),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)
# What JSON holds, and UUIDs and times nested in it, as `Any` fields carry them.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.uuids()
    | times,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text().filter(lambda key: key not in ("_type_", "_data_")), inner, max_size=3)
    ),
    max_leaves=8,
)


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """Values of the type `hint`, as an event's field holds them."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return json_values
    if hint is datetime:
        return times
    if hint is int:
        return st.integers(-(2**53), 2**53)
    if hint is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if origin in (Union, types.UnionType):
        return st.one_of([strategy_for(arg) for arg in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(strategy_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(), strategy_for(args[1]), max_size=3)
    if hint is type(None):
        return st.none()
    return st.from_type(hint)


def _event_state(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    hints = {
        name: Any if name in codec.tagged else hint
        for codec in [EventCodec(cls)]
        for name, hint in typing.get_type_hints(cls).items()
        if name not in ("originator_id", "originator_version")
        and typing.get_origin(hint) is not typing.ClassVar
    }
    return st.fixed_dictionaries({name: strategy_for(hint) for name, hint in hints.items()})


@pytest.fixture(scope="module")
def mapper() -> MsgspecMapper:
    app = TicketsApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert isinstance(app.mapper, MsgspecMapper)
    return app.mapper


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda cls: get_topic(cls).split(":")[1])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_event_class_round_trips_through_the_stored_format(
    mapper: MsgspecMapper, cls: type, data: st.DataObject
) -> None:
    state = data.draw(_event_state(cls))
    event: Any = object.__new__(cls)
    object.__setattr__(
        event, "__dict__", {"originator_id": data.draw(st.uuids()), "originator_version": 1, **state}
    )
    stored = mapper.to_stored_event(event)
    again = mapper.to_domain_event(stored)
    assert type(again) is cls
    assert {k: typed(v) for k, v in vars(again).items()} == {k: typed(v) for k, v in vars(event).items()}


def _value(cls: type) -> st.SearchStrategy[Any]:
    fields = {
        f.name: strategy_for(hint)
        for f in dataclasses.fields(cls)
        for hint in [typing.get_type_hints(cls)[f.name]]
    }
    return st.builds(cls, **fields)


for _cls in SNAPSHOTTED_VALUE_TYPES:
    st.register_type_strategy(_cls, _value(_cls))


@settings(max_examples=40, deadline=None)
@given(
    values=st.tuples(*(st.from_type(cls) for cls in SNAPSHOTTED_VALUE_TYPES)),
    thread=st.dictionaries(st.text(), st.from_type(Message), max_size=3),
)
def test_a_snapshot_of_every_value_type_round_trips_exactly(
    mapper: MsgspecMapper, values: tuple[Any, ...], thread: dict[str, Message]
) -> None:
    snapshot = Snapshot(
        originator_id=UUID(int=1),
        originator_version=7,
        timestamp=datetime(2026, 11, 27, tzinfo=UTC),
        topic="tickets.domain.ticket:Ticket",
        state={"values": list(values), "by_key": {"k": values[0]}, "messages": thread},
    )
    again: Any = mapper.to_domain_event(mapper.to_stored_event(snapshot))
    assert typed(again.state) == typed(snapshot.state)


def test_an_event_of_an_older_class_version_in_todays_format_is_upcast_then_typed(
    mapper: MsgspecMapper,
) -> None:
    # A version-1 message event (no attachments yet) as today's format would have stored it.
    state = (
        b'{"timestamp":"2026-11-27T10:00:00Z","actor_id":"9311473c-a45d-4b5d-925d-618111c4aaeb",'
        b'"message_id":"066461dd-a4c3-45ba-b34d-ea006823ea25","content":"hi","mentions":[]}'
    )
    stored = StoredEvent(UUID(int=5), 3, get_topic(Ticket.MessageAdded), state)
    event: Any = mapper.to_domain_event(stored)
    assert event.attachments == [] and event.message_id == UUID("066461dd-a4c3-45ba-b34d-ea006823ea25")
    assert event.timestamp == datetime(2026, 11, 27, 10, tzinfo=UTC) and isinstance(event.actor_id, UUID)
