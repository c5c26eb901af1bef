"""Whether to use colour on a stream: only on a terminal, and never when NO_COLOR is set."""

from __future__ import annotations

import os
from typing import IO, Any


def use_colour(stream: IO[Any]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return not os.environ.get("NO_COLOR") and stream.isatty()
