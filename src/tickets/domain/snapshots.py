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

import copy
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, ClassVar
from uuid import UUID

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


# Values a copy of an aggregate can share: nothing changes them in place.
IMMUTABLE_TYPES = frozenset({str, int, float, bool, type(None), UUID, datetime, timedelta})


class TypedAggregate(Aggregate):
    """The base of the domain's aggregates: snapshots restore their state with its types."""

    Snapshot = TypedSnapshot

    # Attributes whose dicts hold immutable values only: a copy gets its own dict, sharing the values.
    _SHALLOW_COPIED: ClassVar[frozenset[str]] = frozenset()
    # Attributes that hold one immutable value of a type of the aggregate's own (a frozen dataclass).
    _SHARED: ClassVar[frozenset[str]] = frozenset()

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # The repository hands out deep copies of cached aggregates, one per command: ids, times,
        # enums and other immutable values are shared (deep-copying each UUID and datetime made up
        # most of a copy), dicts of immutable values copied one level, anything else deep-copied.
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            if type(value) in IMMUTABLE_TYPES or isinstance(value, Enum) or name in self._SHARED:
                clone.__dict__[name] = value
            elif name in self._SHALLOW_COPIED:
                clone.__dict__[name] = copy.copy(value)
            else:
                clone.__dict__[name] = copy.deepcopy(value, memo)
        return clone
