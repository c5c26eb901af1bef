"""Catch-up and rebuild of the three read models, on one PostgreSQL database holding a generated log.

Run by `benchmarks.run` (`make bench`) once per code tree, as a script, so that the same
measurement runs against the code of another commit (checked out in a temporary `git
worktree`, first on PYTHONPATH): it only uses `ReadSide` calls that both trees have, and
`rebuild_all` when the tree has it (older trees have only `rebuild`). Prints one JSON object:

- `catch_up`: seconds for `ReadSide.catch_up` to bring the (empty) serving copies of all three
  read models to the head of the log;
- `rebuild_all`: seconds to rebuild all three (together where the tree can, else one by one);
- `rebuild`: seconds to rebuild each read model alone;
- `events`: events in the log (all of them ticket events).

    python benchmarks/catch_up.py postgresql://postgres@127.0.0.1:5432/<database>
"""

from __future__ import annotations

import json
import sys
import time

from projections.runner import READ_MODELS, ReadSide
from tickets.application.app import TicketsApp
from tickets.infrastructure.settings import Settings


def main(url: str) -> None:
    settings = Settings(url)
    app = TicketsApp(env=settings.persistence_env())
    read_side = ReadSide.open(settings, app)
    names = list(READ_MODELS)
    try:
        started = time.perf_counter()
        read_side.catch_up(limit=10_000)
        catch_up = time.perf_counter() - started
        rebuild_all = getattr(read_side, "rebuild_all", None)
        started = time.perf_counter()
        if rebuild_all is not None:
            rebuild_all(names, batch_size=10_000)
        else:
            for name in names:
                read_side.rebuild(name, batch_size=10_000)
        together = time.perf_counter() - started
        alone = {}
        for name in names:
            started = time.perf_counter()
            if rebuild_all is not None:
                rebuild_all([name], batch_size=10_000)
            else:
                read_side.rebuild(name, batch_size=10_000)
            alone[name] = time.perf_counter() - started
        events = app.head_position()  # the generator's log has no gaps and only ticket events
    finally:
        read_side.close()
        app.close()
    json.dump({"events": events, "catch_up": catch_up, "rebuild_all": together, "rebuild": alone}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
