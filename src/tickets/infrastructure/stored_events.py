"""Reading the event log fast, for the read side: pages read ahead, events decoded with msgspec.

`Prefetcher` reads the next page of notifications in a thread while the caller works on the
current one. `EventReader` decodes events with msgspec instead of the library's JSON transcoder.
The library's `JSONTranscoder` decodes every object of an event's JSON in Python, about 20 us
per ticket event and a quarter of a read-side batch (docs/benchmarks.md). msgspec decodes the
same JSON straight into a struct of the event's fields, about ten times faster. Each struct is
made from its event class's annotations, so it cannot drift from the class. It reads both stored
formats (`msgspec_mapper.py`): UUIDs and datetimes as plain strings (today's) or tagged by the
library's transcoder (the previous one); its properties unwrap the tagged ones when read, so code
written for the domain event reads the struct alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from types import NoneType, UnionType
from typing import Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin, get_type_hints
from uuid import UUID

import msgspec
from eventsourcing.persistence import ApplicationRecorder, JSONTranscoder, Mapper, Notification, StoredEvent
from eventsourcing.utils import get_topic

T = TypeVar("T")


class Tagged(msgspec.Struct, Generic[T], gc=False):
    """A UUID or datetime as the library's JSON transcoder stores it: {"_type_": ..., "_data_": value}."""

    value: T = msgspec.field(name="_data_")


def _stored(hint: Any) -> Any:
    """The type of a value of type `hint` in stored JSON (UUIDs and datetimes plain or tagged, alone,
    optional or in a list), or None where msgspec cannot decode it as the transcoder does (`Any`, dicts, the
    domain's value types)."""
    if hint in (UUID, datetime):
        return Union[Tagged[hint], hint]  # noqa: UP007
    if hint in (str, int, float, bool, NoneType):
        return hint
    args = get_args(hint)
    if get_origin(hint) is list and (item := _stored(args[0])) is not None:
        return list[item]  # type: ignore[valid-type]
    if isinstance(hint, UnionType) and None not in (members := [_stored(arg) for arg in args]):
        return Union[tuple(members)]  # noqa: UP007
    return None


def _unwrapped(value: Any) -> Any:
    return value.value if isinstance(value, Tagged) else value


def _untagged(raw: str) -> property:
    """A property reading the field `raw`, tagged or not, as the domain event has it."""

    def get(event: msgspec.Struct) -> Any:
        value = getattr(event, raw)
        if isinstance(value, list):
            return [_unwrapped(item) for item in value]
        return _unwrapped(value)

    return property(get)


def stored_struct(cls: type) -> type[msgspec.Struct]:
    """The struct of the state an event class stores (`class_version` is stored when above 1)."""
    members: list[Any] = [
        ("originator_id", Any, None),
        ("originator_version", int, 0),
        ("class_version", int, 1),
    ]
    namespace: dict[str, Any] = {}
    for name, hint in get_type_hints(cls).items():
        if name in ("originator_id", "originator_version") or get_origin(hint) is ClassVar:
            continue
        stored = _stored(hint)
        if stored is None:  # left out: the read side reads none of these, and reading one fails loudly
            continue
        if stored == hint:
            members.append((name, hint))
        else:  # stored tagged as `<name>_`, read untagged as `<name>`
            members.append((f"{name}_", stored, msgspec.field(name=name)))
            namespace[name] = _untagged(f"{name}_")
    return msgspec.defstruct(f"Stored{cls.__name__}", members, namespace=namespace, kw_only=True, gc=False)


class EventReader:
    """Reads stored events of the given classes as structs of their fields (`stored_struct`)."""

    def __init__(self, classes: Iterable[type]) -> None:
        self.structs = {cls: stored_struct(cls) for cls in classes}
        self._decoders: dict[str, tuple[type, msgspec.json.Decoder[Any] | None]] = {
            get_topic(cls): (cls, msgspec.json.Decoder(struct)) for cls, struct in self.structs.items()
        }

    def reader(self, mapper: Mapper[UUID]) -> Callable[[StoredEvent], Any]:
        """A reader of stored events; `mapper` reads them instead where the library's own rules apply:
        the store is compressed or encrypted or has another transcoder, an event is of another class,
        was stored by an older class version (the library upcasts it), or its JSON is not the shape
        its class has today (the library says why)."""
        if mapper.cipher or mapper.compressor or not isinstance(mapper.transcoder, JSONTranscoder):
            return mapper.to_domain_event

        def read(stored: StoredEvent) -> Any:
            cls, decoder = self._decoders.get(stored.topic, (object, None))
            try:
                event: Any = None if decoder is None else decoder.decode(stored.state)
            except msgspec.DecodeError:
                event = None
            if event is None or event.class_version != getattr(cls, "class_version", 1):
                return mapper.to_domain_event(stored)
            event.originator_id = stored.originator_id
            event.originator_version = stored.originator_version
            return event

        return read


class Prefetcher:
    """Reads a recorder's notifications of some topics, and the next page in a thread while the caller
    works on the current one, after a full page (catching up or rebuilding, not following the head).

    Only a page asked for with the same (start, limit, stop) is served from the read-ahead, so a
    caller sees exactly what it would have read itself: the log up to `stop` is committed and does
    not change.
    """

    def __init__(self, recorder: ApplicationRecorder, topics: Sequence[str]) -> None:
        self._recorder, self._topics = recorder, topics
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
        self._ahead: tuple[tuple[int, int, int], Future[Sequence[Notification]]] | None = None

    def _fetch(self, start: int, limit: int, stop: int) -> Sequence[Notification]:
        return self._recorder.select_notifications(start, limit, stop=stop, topics=self._topics)

    def __call__(self, start: int, limit: int, stop: int) -> Sequence[Notification]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == (start, limit, stop):
            found = ahead[1].result()
        else:
            found = self._fetch(start, limit, stop)
        if len(found) == limit and found[-1].id < stop:
            following = (found[-1].id + 1, limit, stop)
            self._ahead = (following, self._executor.submit(self._fetch, *following))
        return found

    def close(self) -> None:
        """Stop reading ahead; the next call starts again (with a new thread)."""
        self._ahead = None
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
