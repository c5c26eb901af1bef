"""The app's request class: a JSON body that cannot be decoded is the client's error (400), never a 500."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException


class ApiRequest(Request[Any, Any, Any]):
    """`Request` whose `json()` turns the decoder's non-`DecodeError` failures into 400s.

    msgspec reports malformed JSON as `DecodeError` (Litestar already answers 400), but JSON nested
    deeper than the interpreter's recursion limit raises `RecursionError`, and bytes that are not
    UTF-8 raise `UnicodeDecodeError`. Both happen before any handler runs, so nothing is written;
    so does a NUL character in a string.
    """

    async def json(self) -> Any:
        try:
            body = await super().json()
        except RecursionError:
            raise ClientException(detail="the JSON body is nested too deeply") from None
        except UnicodeDecodeError:
            raise ClientException(detail="the request body is not valid UTF-8") from None
        if _has_nul(body):
            # No text of a ticket means anything with a NUL, and PostgreSQL cannot store one in text.
            raise ClientException(detail="the JSON body contains a NUL character (\\u0000) in a string")
        return body


def _has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds a string (or key) with a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
