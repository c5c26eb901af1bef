"""Helpers shared by controllers: write responses carry the log position of their events."""

from __future__ import annotations

from typing import Annotated, TypeVar

from litestar import Response
from litestar.params import QueryParameter

from tickets.application.app import Saved

T = TypeVar("T")

POSITION_HEADER = "X-Event-Position"

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size (default 50, max 200)")]
Cursor = Annotated[
    str | None, QueryParameter(max_length=200, description="`nextCursor` of the previous page")
]


def written(body: T, saved: Saved[object], status_code: int = 200) -> Response[T]:
    """A response for a write, telling the position of its last event (for read-your-writes)."""
    headers = {POSITION_HEADER: str(saved.position)} if saved.position is not None else {}
    return Response(body, status_code=status_code, headers=headers)
