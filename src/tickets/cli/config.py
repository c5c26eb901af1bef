"""Saved connection profiles for the `pfai` client, in the user's config directory.

The file holds API tokens, so it is written with mode 0600 (and its directory 0700).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

CONFIG_DIR_ENV = "PFAI_CONFIG_DIR"
CONFIG_FILE_NAME = "config.json"
DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Profile:
    """Where a server is and the token to use with it."""

    server: str
    token: str


@dataclass
class ClientConfig:
    """All saved profiles and the one used when no `--profile` is given."""

    current: str = DEFAULT_PROFILE
    profiles: dict[str, Profile] = field(default_factory=dict)

    def profile(self, name: str | None = None) -> Profile | None:
        return self.profiles.get(name or self.current)


def config_dir() -> Path:
    """`$PFAI_CONFIG_DIR`, else the platform's config directory (`$XDG_CONFIG_HOME/pfai` on Linux)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(click.get_app_dir("pfai"))


def load_config() -> ClientConfig:
    """The saved profiles; an empty configuration when there is no file yet."""
    path = config_dir() / CONFIG_FILE_NAME
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ClientConfig()
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {path}: {error}") from error
    profiles = {
        name: Profile(server=str(values["server"]), token=str(values["token"]))
        for name, values in dict(raw.get("profiles", {})).items()
        if isinstance(values, dict) and "server" in values and "token" in values
    }
    return ClientConfig(current=str(raw.get("current", DEFAULT_PROFILE)), profiles=profiles)


def save_config(config: ClientConfig) -> Path:
    """Write the profiles, readable by the user only (0600)."""
    path = config_dir() / CONFIG_FILE_NAME
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = {
        "current": config.current,
        "profiles": {name: asdict(profile) for name, profile in sorted(config.profiles.items())},
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # O_CREAT's mode only applies to new files: tighten an existing one too.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(payload, file, indent=2)
        file.write("\n")
    return path
