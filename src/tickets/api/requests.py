"""The app's request class: a JSON body that cannot be decoded is the client's error (400), never a 500."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException


class ApiRequest(Request[Any, Any, Any]):
    """`Request` whose `json()` turns the decoder's non-`DecodeError` failures into 400s.

    msgspec reports malformed JSON as `DecodeError` (Litestar already answers 400), but JSON nested
    deeper than the interpreter's recursion limit raises `RecursionError`, and bytes that are not
    UTF-8 raise `UnicodeDecodeError`. Both happen before any handler runs, so nothing is written.
    """

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException(detail="the JSON body is nested too deeply") from None
        except UnicodeDecodeError:
            raise ClientException(detail="the request body is not valid UTF-8") from None
