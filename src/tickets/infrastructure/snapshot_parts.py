"""Snapshots whose large parts (a ticket's thread) are stored apart and read only when first used.

A ticket's snapshot holds its whole thread: with 5,000 messages, decoding them was nearly all of
a cold load of the ticket, even for a request that never reads a message. A part named here
(`messages`) is written as a record of its own in the snapshot table, in the same transaction
as the snapshot, keyed by the aggregate's id and the snapshot's version; the snapshot keeps only
where it is (`StoredApart`). Loading the snapshot gives the aggregate a `LazyDict` in its place,
which reads and decodes the part (one typed msgspec pass) the first time it is read. Keys set
before that (a new message) wait beside it, so appending to a thread does not read it.
Copies of a lazy dict (the aggregate cache hands out copies) share the part once decoded.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid5

import msgspec
from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import EventStore, Recording, StoredEvent, Transcoding
from eventsourcing.utils import get_topic

K = TypeVar("K")
V = TypeVar("V")

# The topic of a part's record (never resolved: only this module reads these records).
PART_TOPIC = "tickets.infrastructure.snapshot_parts:part"


@dataclass(frozen=True)
class StoredApart:
    """Where a part of a snapshot's state is: the record `record_id` at the snapshot's version."""

    record_id: UUID
    version: int


class StoredApartTranscoding(Transcoding):
    """Writes a `StoredApart` in a snapshot's state as `{"_type_": "stored_apart", ...}`."""

    type = StoredApart
    name = "stored_apart"

    def encode(self, obj: StoredApart) -> dict[str, Any]:
        return {"record_id": obj.record_id, "version": obj.version}

    def decode(self, data: dict[str, Any]) -> StoredApart:
        return StoredApart(data["record_id"], data["version"])


class StoredPart:
    """A part read from the store once, by whichever copy of its lazy dict reads it first."""

    def __init__(self, load: Callable[[], Mapping[Any, Any]]) -> None:
        self._load: Callable[[], Mapping[Any, Any]] | None = load
        self._value: Mapping[Any, Any] = {}
        self._lock = threading.Lock()

    def value(self) -> Mapping[Any, Any]:
        with self._lock:
            if self._load is not None:
                self._value, self._load = self._load(), None
            return self._value


class LazyDict(MutableMapping[K, V]):
    """A dict whose items are read from a stored part when first read. Values are immutable (shared
    between copies); setting a key before the part is read keeps it apart, in order, until then."""

    def __init__(self, part: StoredPart) -> None:
        self._part = part
        # (the items once read, or None; the keys set before that): one attribute, so that a copy
        # taken while another thread reads the part sees one state or the other, never half of each.
        self._state: tuple[dict[K, V] | None, dict[K, V]] = (None, {})

    def _loaded(self) -> dict[K, V]:
        items, added = self._state
        if items is None:
            items = dict(self._part.value())
            items.update(added)
            self._state = (items, {})
        return items

    @property
    def is_loaded(self) -> bool:
        return self._state[0] is not None

    def __getitem__(self, key: K) -> V:
        return self._loaded()[key]

    def __setitem__(self, key: K, value: V) -> None:
        items, added = self._state
        (added if items is None else items)[key] = value

    def __delitem__(self, key: K) -> None:
        del self._loaded()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __copy__(self) -> LazyDict[K, V]:
        items, added = self._state
        clone: LazyDict[K, V] = LazyDict(self._part)
        clone._state = (None if items is None else dict(items), dict(added))
        return clone

    def __repr__(self) -> str:
        items, added = self._state
        return f"LazyDict({items!r})" if items is not None else f"LazyDict(<not read>, added={added!r})"


class PartedSnapshotStore(EventStore[UUID]):
    """A snapshot store that keeps parts of snapshots' state apart (`parts`: for an aggregate class,
    the names of its parts and their types, which msgspec writes and reads in one pass)."""

    def __init__(self, *args: Any, parts: Mapping[type, Mapping[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decoders = {
            get_topic(cls): {name: msgspec.json.Decoder(hint) for name, hint in named.items()}
            for cls, named in parts.items()
        }
        self._encoder = msgspec.json.Encoder()

    def put(self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> list[Recording[UUID]]:
        stored: list[StoredEvent] = []
        for snapshot in domain_events:
            state: dict[str, Any] | None = None
            apart: list[str] = []
            if isinstance(snapshot, Snapshot):
                state = snapshot.state
                apart = [name for name in self._decoders.get(snapshot.topic, ()) if name in state]
            if state is not None and apart:
                state = dict(state)
                for name in apart:
                    where = StoredApart(
                        uuid5(snapshot.originator_id, f"snapshot:{name}"), snapshot.originator_version
                    )
                    stored.append(self._stored_part(where, dict(state[name])))
                    state[name] = where
                snapshot = copy.copy(snapshot)
                object.__setattr__(snapshot, "state", state)
            stored.append(self.mapper.to_stored_event(snapshot))
        self.recorder.insert_events(stored, **kwargs)  # the parts and their snapshots in one transaction
        return []

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        for snapshot in super().get(originator_id, gt=gt, lte=lte, desc=desc, limit=limit):
            if isinstance(snapshot, Snapshot):
                decoders = self._decoders.get(snapshot.topic, {})
                for name, value in snapshot.state.items():
                    if isinstance(value, StoredApart) and name in decoders:
                        snapshot.state[name] = LazyDict(StoredPart(self._reader(decoders[name], value)))
            yield snapshot

    def _stored_part(self, where: StoredApart, value: Mapping[Any, Any]) -> StoredEvent:
        data = self._encoder.encode(value)
        if self.mapper.compressor:
            data = self.mapper.compressor.compress(data)
        if self.mapper.cipher:
            data = self.mapper.cipher.encrypt(data)
        return StoredEvent(where.record_id, where.version, PART_TOPIC, data)

    def _reader(
        self, decoder: msgspec.json.Decoder[Any], where: StoredApart
    ) -> Callable[[], Mapping[Any, Any]]:
        recorder, mapper = self.recorder, self.mapper

        def read() -> Mapping[Any, Any]:
            found = recorder.select_events(where.record_id, gt=where.version - 1, lte=where.version)
            if not found:
                raise LookupError(f"the snapshot part {where} is missing")
            data = found[0].state
            if mapper.cipher:
                data = mapper.cipher.decrypt(data)
            if mapper.compressor:
                data = mapper.compressor.decompress(data)
            value: Mapping[Any, Any] = decoder.decode(data)
            return value

        return read
