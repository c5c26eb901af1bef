"""Every value type an aggregate keeps in its state has a transcoding, so its snapshot can be written.

(A message's `Delivery` once had none: the 50th event of a ticket whose contact was mailed failed
to save its snapshot.)"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from tickets.infrastructure.transcoding import SNAPSHOTTED_VALUE_TYPES


def _dataclasses_in(hint: Any) -> set[type]:
    found: set[type] = set()
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        found.add(hint)
        for field_hint in typing.get_type_hints(hint).values():
            found |= _dataclasses_in(field_hint)
    for arg in typing.get_args(hint):
        found |= _dataclasses_in(arg)
    return found


def test_every_value_type_nested_in_a_snapshotted_value_has_a_transcoding() -> None:
    nested = set().union(*(_dataclasses_in(cls) for cls in SNAPSHOTTED_VALUE_TYPES))
    assert nested <= set(SNAPSHOTTED_VALUE_TYPES), nested - set(SNAPSHOTTED_VALUE_TYPES)
