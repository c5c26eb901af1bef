"""The stored format of events: plain JSON, written and read with msgspec, one typed decode per event.

An event is stored as a JSON object of its fields: UUIDs and times as strings (RFC 3339), enums
as their values, so `psql` and `sqlite3` show it as it is. Reading an event decodes it in one
msgspec pass straight into the types its class declares (`get_type_hints` of the event class:
UUID, datetime, int, str, lists), about ten times faster than the library's `JSONTranscoder`,
which builds every object in Python. Fields typed `Any` (free dicts such as an issue's
metadata, the state of a snapshot) keep the library's tags for the values JSON has no type for
(`{"_type_": "uuid_hex", "_data_": ...}`, the domain's value types), so they still come back
exactly (`transcoding.py`).

The previous format, the library's `JSONTranscoder`, tagged every UUID and time, the event's own
`timestamp` included. Every event has a timestamp, so that is how an event of the previous
format is told apart: its timestamp is an object, where this format has a string. Such events
are read by the library's transcoder, exactly as before (`test_stored_formats.py` reads every
event of a store from each release). An event stored by an older version of its class is
decoded as plain JSON, upcast by the class's `upcast_vN_vN+1` (which see plain JSON values: UUIDs
and times as strings), then converted to the types of today's class.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from types import NoneType
from typing import Any, ClassVar, NotRequired, TypedDict, cast, get_args, get_origin, get_type_hints
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
    TranscodingNotRegisteredError,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

# The fields the mapper keeps outside the stored JSON (the store has columns for them).
_OUTSIDE_STATE = frozenset({"originator_id", "originator_version"})
_PLAIN = (str, int, float, bool, NoneType)


def _holds_any(hint: Any) -> bool:
    """True when a value of type `hint` may hold values whose types JSON does not keep."""
    return hint is Any or hint is object or any(_holds_any(arg) for arg in get_args(hint))


class _StoredTimestamp(msgspec.Struct):
    """Just the timestamp of a stored event, as it is stored: a string, or an object (the previous format)."""

    timestamp: Any


class EventCodec:
    """How one event class is stored: its fields' types, and those read and written with tags."""

    def __init__(self, cls: type) -> None:
        hints = {
            name: hint
            for name, hint in get_type_hints(cls).items()
            if name not in _OUTSIDE_STATE and get_origin(hint) is not ClassVar
        }
        if hints.get("timestamp") is None:
            raise TypeError(f"{cls.__qualname__} has no timestamp: its stored format could not be told apart")
        self.cls = cls
        self.tagged = tuple(name for name, hint in hints.items() if _holds_any(hint))
        # A field may hold None whatever its type says (an event records what its method was given),
        # and reads back as the None it wrote.
        fields: dict[str, Any] = {
            name: Any if name in self.tagged else hint | None for name, hint in hints.items()
        }
        fields["class_version"] = NotRequired[int]
        self.state_type: Any = TypedDict(f"Stored{cls.__name__}", fields)  # type: ignore[misc]
        self.decoder = msgspec.json.Decoder(self.state_type)
        self.id_convertors: dict[type, Callable[[UUID | str], UUID | str]] = {}

    @property
    def class_version(self) -> int:
        """The class's version now (read each time: tests move it)."""
        version: int = getattr(self.cls, "class_version", 1)
        return version


class MsgspecMapper(Mapper[UUID]):
    """Writes events as plain JSON with msgspec; reads both that and the previous format.

    `transcoder` is the library's JSON transcoder with the domain's transcodings registered: it
    reads events of the previous format, and its transcodings tag the values of `Any` fields.
    """

    def __init__(
        self, transcoder: Transcoder, compressor: Compressor | None = None, cipher: Cipher | None = None
    ) -> None:
        if not isinstance(transcoder, JSONTranscoder):
            raise TypeError("MsgspecMapper reads the previous format with the library's JSONTranscoder")
        super().__init__(transcoder, compressor, cipher)
        self.previous_format: JSONTranscoder = transcoder
        self._codecs: dict[str, EventCodec] = {}
        self._encoder = msgspec.json.Encoder()
        self._generic = msgspec.json.Decoder()
        self._timestamp = msgspec.json.Decoder(_StoredTimestamp)

    def codec(self, topic: str) -> EventCodec:
        """The codec of the event class named by `topic` (made once per class)."""
        codec = self._codecs.get(topic)
        if codec is None:
            codec = self._codecs[topic] = EventCodec(resolve_topic(topic))
        return codec

    # ------------------------------------------------------------------ writing

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(type(domain_event))
        codec = self.codec(topic)
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        if codec.class_version > 1:
            state["class_version"] = codec.class_version
        for name in codec.tagged:
            state[name] = self.tagged(state[name])
        stored_state = self._encoder.encode(state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def tagged(self, value: Any) -> Any:
        """`value` with every value JSON has no type for tagged as the library's transcoder tags it."""
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is dict:
            return {key: self.tagged(item) for key, item in value.items()}
        if kind is list or kind is tuple:
            return [self.tagged(item) for item in value]
        transcoding = self.previous_format.types.get(kind)
        if transcoding is None:
            if isinstance(value, str | int | float):  # an enum: its value, as the library's JSON writes it
                return value
            raise TranscodingNotRegisteredError(
                f"Object of type {kind} is not serializable. Please define and register "
                "a custom transcoding for this type."
            )
        return {"_type_": transcoding.name, "_data_": self.tagged(transcoding.encode(value))}

    # ------------------------------------------------------------------ reading

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        codec = self._codecs.get(stored_event.topic) or self.codec(stored_event.topic)
        data = stored_event.state
        try:
            if self.cipher:
                data = self.cipher.decrypt(data)
            if self.compressor:
                data = self.compressor.decompress(data)
            state = self._decode(codec, data)
        except Exception as error:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic '{stored_event.topic}', "
                f"originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            ) from error
        id_type = type(stored_event.originator_id)
        id_convertor = codec.id_convertors.get(id_type)
        if id_convertor is None:
            id_convertor = codec.id_convertors[id_type] = find_id_convertor(
                codec.cls, cast(Hashable, id_type)
            )
        state["originator_id"] = id_convertor(stored_event.originator_id)
        state["originator_version"] = stored_event.originator_version
        domain_event: Any = object.__new__(codec.cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast(DomainEventProtocol[UUID], domain_event)

    def _decode(self, codec: EventCodec, data: bytes) -> dict[str, Any]:
        try:
            state: dict[str, Any] = codec.decoder.decode(data)
        except msgspec.ValidationError:
            return self._decode_other(codec, data)
        if state.pop("class_version", 1) != codec.class_version:
            return self._decode_other(codec, data)
        for name in codec.tagged:
            state[name] = self.untagged(state[name])
        return state

    def _decode_other(self, codec: EventCodec, data: bytes) -> dict[str, Any]:
        """An event of the previous format, or stored by an older version of its class."""
        if isinstance(self._timestamp.decode(data).timestamp, dict):
            # The previous format: read exactly as the library reads it.
            state: dict[str, Any] = self.previous_format.decode(data)
            self._upcast(codec, state)
            return state
        plain: dict[str, Any] = self._generic.decode(data)
        if plain.get("class_version", 1) == codec.class_version:
            # This format and this class version, yet not the class's types: say where.
            codec.decoder.decode(data)
        self._upcast(codec, plain)
        for name in codec.tagged:
            plain[name] = self.untagged(plain[name])
        converted: dict[str, Any] = msgspec.convert(plain, codec.state_type, strict=False)
        return converted

    @staticmethod
    def _upcast(codec: EventCodec, state: dict[str, Any]) -> None:
        version = state.pop("class_version", 1)
        while version < codec.class_version:
            getattr(codec.cls, f"upcast_v{version}_v{version + 1}")(state)
            version += 1

    def untagged(self, value: Any) -> Any:
        """`value` with the library's tags (`{"_type_": ..., "_data_": ...}`) decoded, innermost first."""
        kind = type(value)
        if kind is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._transcoding(value["_type_"]).decode(self.untagged(value["_data_"]))
            return {key: self.untagged(item) for key, item in value.items()}
        if kind is list:
            return [self.untagged(item) for item in value]
        return value

    def _transcoding(self, name: str) -> Any:
        try:
            return self.previous_format.names[name]
        except KeyError:
            raise TranscodingNotRegisteredError(
                f"Data serialized with name '{name}' is not deserializable. "
                "Please register a custom transcoding for this type."
            ) from None
