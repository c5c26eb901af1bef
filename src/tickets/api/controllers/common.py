"""Helpers shared by controllers: paging lists, and write responses that carry the log position of their events."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from litestar import Response
from litestar.exceptions import ValidationException
from litestar.params import HeaderParameter, QueryParameter

from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.api.schemas import Page
from tickets.application.app import Saved

T = TypeVar("T")
Item = TypeVar("Item")

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
    """`version` and `asOf` each pick a moment: at most one (a time's form is checked in `api/query.py`)."""
    if version is not None and as_of is not None:
        raise ValidationException(
            detail="ask for a version or a time (asOf), not both",
            extra=[{"key": "asOf", "message": "cannot be combined with version"}],
        )


@dataclass(frozen=True)
class Paging:
    """`?limit=` and `?cursor=` of a list endpoint; pages any sorted list the same way."""

    limit: int
    cursor: str | None

    def page(
        self,
        kind: str,
        items: Iterable[Item],
        order: Callable[[Item], tuple[str, ...]],
        present: Callable[[Item], T],
    ) -> Page[T]:
        """The page of `items` (sorted by `order`, whose last part is unique) after the cursor.

        Cursors are keyset positions, not offsets: an item added or deleted between two pages
        neither repeats nor skips another.
        """
        after = decode_cursor(kind, self.cursor, str)
        rest = sorted((i for i in items if after is None or order(i) > after), key=order)
        page = rest[: self.limit]
        more = len(rest) > self.limit
        return Page(
            items=[present(i) for i in page],
            next_cursor=encode_cursor(kind, *order(page[-1])) if more else None,
        )


def provide_paging(limit: Limit = 50, cursor: Cursor = None) -> Paging:
    return Paging(limit, cursor)


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
