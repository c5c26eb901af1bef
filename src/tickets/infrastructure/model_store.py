"""Where trained models live: files on disk (beside the SQLite database, or `TICKETS_MODEL_DIR`), never
in the event log, which keeps what happened, not what was learnt from it.

A model is a pickle (joblib) written by this server: a file goes in whole (a temporary file, then
a rename) or not at all. Only this server should be able to write the directory, since loading a
pickle runs its code. joblib is imported when a model is saved or loaded, not before.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from uuid import UUID


class ModelStore:
    """Models by org and name; `directory` None keeps them in memory (unit tests)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._memory: dict[tuple[UUID, str], Any] = {}

    def path(self, org_id: UUID, name: str) -> Path | None:
        return None if self.directory is None else self.directory / str(org_id) / f"{name}.joblib"

    def save(self, org_id: UUID, name: str, model: Any) -> None:
        path = self.path(org_id, name)
        if path is None:
            self._memory[(org_id, name)] = model
            return
        import joblib

        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                joblib.dump(model, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def load(self, org_id: UUID, name: str) -> Any | None:
        path = self.path(org_id, name)
        if path is None:
            return self._memory.get((org_id, name))
        if not path.exists():
            return None
        import joblib

        return joblib.load(path)

    def orgs_with(self, name: str) -> list[UUID]:
        """The orgs that have a model of this name (the follower retrains those that are stale)."""
        if self.directory is None:
            return [org for org, kind in self._memory if kind == name]
        if not self.directory.exists():
            return []
        found = []
        for child in self.directory.iterdir():
            try:
                org_id = UUID(child.name)
            except ValueError:
                continue
            if (child / f"{name}.joblib").exists():
                found.append(org_id)
        return found


__all__ = ["ModelStore"]
