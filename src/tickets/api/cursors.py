"""Opaque pagination cursors: clients pass them back, never build them."""

from __future__ import annotations

import base64
import binascii

from litestar.exceptions import ValidationException


def encode_cursor(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The position a cursor of this kind stands for (0 for no cursor)."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found_kind, _, position = raw.partition(":")
        if found_kind == kind and position.isdigit():
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationException(
        detail="cursor is not valid", extra=[{"key": "cursor", "message": "not a cursor from this list"}]
    )
