"""Typed views of aggregate state, so that tests compare types as well as values."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

# Bookkeeping of the library, not the aggregate's own state.
_LIBRARY_ATTRIBUTES = frozenset({"_pending_events"})


def typed(value: Any) -> Any:
    """`value` as nested tuples that carry every value's type (so `Status.OPEN` != `"open"`)."""
    if isinstance(value, Enum):
        return (type(value), value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            tuple((f.name, typed(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    if isinstance(value, Mapping):  # a dict, or one read lazily from a snapshot (`snapshot_parts.py`)
        return (dict, tuple((typed(k), typed(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value), tuple(typed(v) for v in value))
    return (type(value), value)


def aggregate_state(aggregate: Any) -> Any:
    """An aggregate's whole state (its `__dict__`, with id and version), typed.

    Attributes are compared by name (their order in `__dict__` means nothing); the order
    inside each value (a thread's messages) does matter.
    """
    attributes = sorted((k, v) for k, v in vars(aggregate).items() if k not in _LIBRARY_ATTRIBUTES)
    return tuple((name, typed(value)) for name, value in attributes)
