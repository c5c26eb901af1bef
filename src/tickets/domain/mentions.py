"""@-mention parsing, shared by messages and internal notes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from uuid import UUID

# A handle follows '@' at the start of the text or after a non-word character, so
# e-mail addresses such as bob@example.com are not mentions.
MENTION_PATTERN = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9])")


def parse_mentions(content: str, members_by_handle: Mapping[str, UUID]) -> list[UUID]:
    """Return the ids of the members mentioned in `content`, in order, without repeats."""
    mentioned: list[UUID] = []
    for match in MENTION_PATTERN.finditer(content):
        user_id = members_by_handle.get(match.group(1).lower())
        if user_id is not None and user_id not in mentioned:
            mentioned.append(user_id)
    return mentioned
