"""The read side's msgspec reader gives each field as the library's mapper does, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from tickets.infrastructure.stored_events import EventReader


class Thing(Aggregate):
    class Changed(Aggregate.Event):
        who: UUID
        seen: datetime | None
        tags: list[UUID]
        helper: UUID | None
        note: str
        count: int
        extra: dict[str, Any]


def test_fields_read_as_the_library_reads_them_and_the_others_are_left_out() -> None:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    at = datetime(2026, 11, 27, 9, 30, 15, 123456, tzinfo=UTC)
    event = Thing.Changed(
        originator_id=uuid4(),
        originator_version=3,
        timestamp=at,
        who=uuid4(),
        seen=None,
        tags=[uuid4(), uuid4()],
        helper=uuid4(),
        note='héllo \x00 {"_type_": "uuid_hex"}',
        count=7,
        extra={"at": at},
    )
    stored = mapper.to_stored_event(event)
    library: Any = mapper.to_domain_event(stored)
    mine = EventReader([Thing.Changed]).reader(mapper)(stored)
    assert not isinstance(mine, Thing.Changed)
    fields = (
        "originator_id",
        "originator_version",
        "timestamp",
        "who",
        "seen",
        "tags",
        "helper",
        "note",
        "count",
    )
    assert [getattr(mine, name) for name in fields] == [getattr(library, name) for name in fields]
    with pytest.raises(AttributeError):  # the transcoder decodes inside `Any`; msgspec would not
        _ = mine.extra
