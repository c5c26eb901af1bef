"""Regular expressions written by admins (trigger rules' `matches`), run with a time limit.

A pattern such as `(a+)+$` takes exponential time on some inputs in a backtracking engine; Python's
`re` cannot be interrupted, so one such rule could hold a server's rule engine forever. The `regex`
package takes a `timeout` and raises `TimeoutError` when a search runs over it: a search that times
out counts as no match (and is logged). The text searched is capped too, so the time a search may
take is bounded twice.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import regex

logger = logging.getLogger("tickets.rules")

# How long one search may run, and how much of a text it searches.
MATCH_TIMEOUT_SECONDS = 0.05
MAX_SEARCHED_CHARS = 20_000
MAX_PATTERN_LENGTH = 1000


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern, regex.VERSION0)


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is not a usable regular expression, or None."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"a pattern has at most {MAX_PATTERN_LENGTH} characters"
    try:
        _compiled(pattern)
    except (regex.error, RecursionError, OverflowError, ValueError) as error:
        return f"not a regular expression: {error}"
    return None


def matches(pattern: str, text: str) -> bool:
    """Whether `pattern` is found in `text` (its first `MAX_SEARCHED_CHARS`) within the time limit."""
    if pattern_error(pattern) is not None:
        return False
    try:
        return _compiled(pattern).search(text[:MAX_SEARCHED_CHARS], timeout=MATCH_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        logger.warning(
            "pattern %r ran out of time (%ss); counted as no match", pattern, MATCH_TIMEOUT_SECONDS
        )
        return False
