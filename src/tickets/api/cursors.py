"""Opaque pagination cursors, one codec for every list: clients pass them back, never build them.

A cursor is the list's kind and the position after the last item of a page (numbers or texts),
as JSON in URL-safe base64. It is decoded before anything is read: the kind must be the list's
own (a cursor of one list, or of one sort, is refused by another), each part must have the type
the list expects, and every number must fit the stores' 64-bit integers, so a forged cursor is a
400, not an overflow in the database driver.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TypeVar

from litestar.exceptions import ValidationException

# The integers SQLite and PostgreSQL (bigint) store: positions, versions and sort keys are within them.
MIN_STORED_INTEGER, MAX_STORED_INTEGER = -(2**63), 2**63 - 1

Part = TypeVar("Part", int, str)


def encode_cursor(kind: str, *position: int | str) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps([kind, *position], separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_cursor(
    kind: str, cursor: str | None, part: type[Part], size: int | None = None
) -> tuple[Part, ...] | None:
    """The position a cursor of list `kind` stands for: `size` parts (any number if None) of type `part`.

    None for no cursor; 400 for anything else than a cursor this list handed out.
    """
    if not cursor:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(found, list) and len(found) > 1 and found[0] == kind:
            position = found[1:]
            if (size is None or len(position) == size) and all(_is(p, part) for p in position):
                return tuple(position)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        pass
    raise ValidationException(
        detail="cursor is not valid", extra=[{"key": "cursor", "message": "not a cursor from this list"}]
    )


def _is(value: object, part: type) -> bool:
    if part is int:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and MIN_STORED_INTEGER <= value <= MAX_STORED_INTEGER
        )
    return isinstance(value, part)
