"""The app's request class: a JSON body that cannot be decoded, or whose values are not of the declared
JSON types, is the client's error (400), never a 500 and never silently converted."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException


class ApiRequest(Request[Any, Any, Any]):
    """`Request` whose `json()` turns the decoder's non-`DecodeError` failures into 400s.

    msgspec reports malformed JSON as `DecodeError` (Litestar already answers 400), but JSON nested
    deeper than the interpreter's recursion limit raises `RecursionError`, and bytes that are not
    UTF-8 raise `UnicodeDecodeError`. Both happen before any handler runs, so nothing is written.
    """

    async def json(self) -> Any:
        try:
            body = await super().json()
        except RecursionError:
            raise ClientException(detail="the JSON body is nested too deeply") from None
        except UnicodeDecodeError:
            raise ClientException(detail="the request body is not valid UTF-8") from None
        self._refuse_lax_values(body)
        return body

    def _refuse_lax_values(self, body: Any) -> None:
        """400 for a value of another JSON type than the body's Struct declares.

        Litestar converts a decoded body into the route's Struct leniently (`strict=False`), which
        would read `0` as `false` or `"3"` as `3`; the API's schema promises neither. Converting
        strictly first refuses them, with msgspec's message and the field's path. (It runs as the body
        is read, before the token is checked: only a wrongly typed value is answered here.)
        """
        data = self.route_handler.parsed_fn_signature.parameters.get("data")
        declared = data.annotation if data is not None else None
        if not (isinstance(declared, type) and issubclass(declared, msgspec.Struct)):
            return
        try:
            msgspec.convert(_integral_floats_as_ints(body), declared, strict=True)
        except msgspec.ValidationError as error:
            message, _, path = str(error).partition(" - at `$.")
            if not message.startswith("Expected `"):
                return  # a missing or unknown field: Litestar's own check answers it, after the token's
            key = path.rstrip("`") or None
            raise ValidationException(
                detail=f"Validation failed for {self.method} {self.url.path}",
                extra=[{"key": key, "message": message, "source": "body"}],
            ) from None


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema's `integer` includes `115.0`: the strict check reads it as 115, as the schema does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value
