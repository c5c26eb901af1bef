"""Opaque pagination cursors: clients pass them back, never build them.

A cursor is decoded before anything is read, and every number in it must fit the stores' 64-bit
integers: a forged cursor with a huge number is a 400, not an overflow in the database driver.
"""

from __future__ import annotations

import base64
import binascii
import json

from litestar.exceptions import ValidationException

# The integers SQLite and PostgreSQL (bigint) store: positions, versions and sort keys are within them.
MIN_STORED_INTEGER, MAX_STORED_INTEGER = -(2**63), 2**63 - 1


def _fits(value: object) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and MIN_STORED_INTEGER <= value <= MAX_STORED_INTEGER
    )


def _invalid(message: str) -> ValidationException:
    return ValidationException(detail="cursor is not valid", extra=[{"key": "cursor", "message": message}])


def _unpad(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _pad(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def encode_cursor(kind: str, position: int) -> str:
    return _unpad(f"{kind}:{position}".encode())


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The position a cursor of this kind stands for (0 for no cursor)."""
    if not cursor:
        return 0
    try:
        found_kind, _, position = _pad(cursor).decode().partition(":")
        if found_kind == kind and position.isdigit() and _fits(int(position)):
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _invalid("not a cursor from this list")


def encode_keyset_cursor(sort: str, after: tuple[int, int]) -> str:
    """A cursor for a keyset page: the sort it belongs to and the last row's (key, tiebreaker)."""
    return _unpad(json.dumps([sort, *after], separators=(",", ":")).encode())


def decode_keyset_cursor(sort: str, cursor: str | None) -> tuple[int, int] | None:
    """The keyset position a cursor stands for; it must come from a list with the same sort."""
    if not cursor:
        return None
    try:
        found = json.loads(_pad(cursor))
        if isinstance(found, list) and len(found) == 3 and found[0] == sort and all(map(_fits, found[1:])):
            return int(found[1]), int(found[2])
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        pass
    raise _invalid("not a cursor from this list with this sort")


def encode_key_cursor(kind: str, key: tuple[str, ...]) -> str:
    """A cursor after the item with this sort key (a tuple of strings) in list `kind`."""
    return _unpad(json.dumps([kind, *key], separators=(",", ":")).encode())


def decode_key_cursor(kind: str, cursor: str | None) -> tuple[str, ...] | None:
    """The sort key a cursor of list `kind` stands for (None for no cursor)."""
    if not cursor:
        return None
    try:
        found = json.loads(_pad(cursor))
        if (
            isinstance(found, list)
            and len(found) > 1
            and found[0] == kind
            and all(isinstance(part, str) for part in found[1:])
        ):
            return tuple(found[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        pass
    raise _invalid("not a cursor from this list")
