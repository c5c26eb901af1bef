"""Snapshots that give an aggregate back its state with every type intact, or are not used at all.

The library's JSON transcoder writes a `StrEnum` as the plain string it also is, so a
snapshot alone would restore `ticket.status` as `"open"`, not `Status.OPEN`. Value types
nested in the state (messages, members, the SLA clock) have transcodings of their own
(`infrastructure/transcoding.py`); the aggregate's own enum attributes are recorded here,
by the topic of their type, and turned back into enums when the snapshot is restored.

A snapshot holds state computed by the rules of the code that wrote it. When an aggregate's
rules or state change, its `class_version` goes up, and snapshots written by another version
(or in the library's plain format) are not *current*: the application ignores them and
replays the events, until the next snapshot is written by today's rules.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import get_topic, resolve_topic

ENUM_TYPES_KEY = "__enum_types__"


class TypedSnapshot(Snapshot):
    """A snapshot whose enum-valued attributes come back as the same enums."""

    @classmethod
    def take(cls, aggregate: Any) -> TypedSnapshot:
        snapshot = super().take(aggregate)
        enum_types = {
            name: get_topic(type(value)) for name, value in snapshot.state.items() if isinstance(value, Enum)
        }
        if enum_types:
            snapshot.state[ENUM_TYPES_KEY] = enum_types
        return snapshot

    @property
    def is_current(self) -> bool:
        """True when written by the aggregate's current class version."""
        aggregate_class = resolve_topic(self.topic)
        return bool(self.state.get("class_version", 1) == getattr(aggregate_class, "class_version", 1))

    def mutate(self, _: None) -> Any:
        aggregate = super().mutate(None)
        enum_types: dict[str, str] = aggregate.__dict__.pop(ENUM_TYPES_KEY, {})
        for name, topic in enum_types.items():
            aggregate.__dict__[name] = resolve_topic(topic)(aggregate.__dict__[name])
        return aggregate


class TypedAggregate(Aggregate):
    """The base of the domain's aggregates: snapshots restore their state with its types."""

    Snapshot = TypedSnapshot
