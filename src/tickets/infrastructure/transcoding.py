"""JSON transcodings for the domain's value types, so snapshots round-trip exactly."""

from __future__ import annotations

import dataclasses
import typing
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from tickets.domain.organization import CannedResponse, Member, SlaPolicy, Tag, Team
from tickets.domain.rules import Action, Condition, Rule
from tickets.domain.sla import SlaClock
from tickets.domain.ticket import Attachment, Delivery, Message
from tickets.infrastructure.snapshot_parts import StoredApartTranscoding

SNAPSHOTTED_VALUE_TYPES: tuple[type, ...] = (
    Message,
    Attachment,
    Delivery,
    SlaClock,
    Member,
    Team,
    Tag,
    SlaPolicy,
    CannedResponse,
    Rule,
    Condition,
    Action,
)


class DataclassTranscoding(Transcoding):
    """Encodes a dataclass as a dict of its fields; enum and tuple fields are restored on decode
    (JSON has neither: they come back as strings and lists)."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__name__
        hints = typing.get_type_hints(cls)
        self._enums = {
            name: hint for name, hint in hints.items() if isinstance(hint, type) and issubclass(hint, Enum)
        }
        self._tuples = [name for name, hint in hints.items() if typing.get_origin(hint) is tuple]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        for name, enum in self._enums.items():
            data[name] = enum(data[name])
        for name in self._tuples:
            if name in data:
                data[name] = tuple(data[name])
        return self.type(**data)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    for cls in SNAPSHOTTED_VALUE_TYPES:
        transcoder.register(DataclassTranscoding(cls))
    transcoder.register(StoredApartTranscoding())
