"""Helpers shared by controllers: write responses carry the log position of their events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, TypeVar

from litestar import Response
from litestar.exceptions import ValidationException
from litestar.params import HeaderParameter, QueryParameter

from tickets.application.app import Saved

T = TypeVar("T")

POSITION_HEADER = "X-Event-Position"

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size (default 50, max 200)")]
# `"7"`, `W/"7"` or a bare `7`; ASCII digits only (str.isdigit also accepts '²', which int() refuses).
IF_MATCH_PATTERN = r'^(W/)?("[0-9]{1,18}"|[0-9]{1,18})$'
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        pattern=IF_MATCH_PATTERN,
        description='The version you read (its ETag, e.g. "7"); 412 if the ticket has moved on since',
    ),
]
Cursor = Annotated[
    str | None, QueryParameter(max_length=200, description="`nextCursor` of the previous page")
]


Version = Annotated[int | None, QueryParameter(ge=1, description="As of this version of the ticket")]
AsOf = Annotated[
    datetime | None,
    QueryParameter(name="asOf", description="As it was at this RFC 3339 time (with an offset, e.g. `Z`)"),
]
IncludeDeleted = Annotated[
    bool,
    QueryParameter(
        name="includeDeleted",
        description="Admins: also a soft-deleted ticket (its history stays readable); others still get 404",
    ),
]


def check_as_of(version: int | None, as_of: datetime | None) -> None:
    """`version` and `asOf` each pick a moment: at most one, and a time must say its offset."""
    if version is not None and as_of is not None:
        raise ValidationException(
            detail="ask for a version or a time (asOf), not both",
            extra=[{"key": "asOf", "message": "cannot be combined with version"}],
        )
    if as_of is not None and as_of.tzinfo is None:
        raise ValidationException(
            detail="asOf needs a time zone",
            extra=[{"key": "asOf", "message": "an RFC 3339 time needs an offset, e.g. 2026-01-05T09:00:00Z"}],
        )


def written(body: T, saved: Saved[object], status_code: int = 200, version: int | None = None) -> Response[T]:
    """A response for a write, telling the position of its last event (for read-your-writes).

    With `version` (a ticket's), it also carries the `ETag` to send back as `If-Match`.
    """
    headers = {POSITION_HEADER: str(saved.position)} if saved.position is not None else {}
    if version is not None:
        headers["ETag"] = etag(version)
    return Response(body, status_code=status_code, headers=headers)


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version an If-Match header names (None when absent)."""
    if value is None:
        return None
    if re.fullmatch(IF_MATCH_PATTERN, value.strip()) is None:
        raise ValidationException(
            detail="If-Match must be a ticket version",
            extra=[{"key": "If-Match", "message": f'expected a version such as "7", got {value!r}'}],
        )
    return int(value.strip().removeprefix("W/").strip('"'))
