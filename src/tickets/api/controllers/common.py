"""Helpers shared by controllers: write responses carry the log position of their events."""

from __future__ import annotations

import re
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
