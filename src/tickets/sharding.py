"""Orgs spread over several databases (shards): the way past one PostgreSQL's write ceiling.

Nothing in an org's history refers to another org's: its tickets, counters, contacts, rules and
read models are its own. So a deployment can place each org, whole, in one of several event
stores, and everything the service does for that org (numbering, optimistic concurrency, the
read side, the event feed) happens inside that one store. `Shards` is that routing, at the
composition root: one `Services` per database, an org placed by its slug (a stable hash, or an
explicit placement for orgs moved by hand), and a request routed by the org its token belongs to.

What is left to a real deployment (docs/scaling.md): a token lookup that does not ask every
shard (a shard key in the token or a small routing table), moving an org between shards (copy its
streams, then switch its placement), and one feed per shard.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tickets.application.actors import Actor
from tickets.application.directory import Credentials
from tickets.bootstrap import Services, build_services
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.settings import Settings


def hashed_placement(names: list[str]) -> Callable[[str], str]:
    """An org's shard from its slug: stable across processes and restarts (CRC-32, not `hash`)."""
    ordered = sorted(names)
    return lambda slug: ordered[zlib.crc32(slug.encode()) % len(ordered)]


@dataclass
class Shards:
    """Services per shard, and which shard serves an org."""

    shards: dict[str, Services]
    placement: Callable[[str], str]

    @classmethod
    def open(
        cls,
        urls: Mapping[str, str],
        clock: Clock = system_clock,
        placement: Callable[[str], str] | None = None,
    ) -> Shards:
        """One store per database URL (by shard name); orgs placed by `placement` (default: hashed)."""
        shards = {name: build_services(Settings(url), clock) for name, url in urls.items()}
        return cls(shards, placement or hashed_placement(list(shards)))

    def shard_of_slug(self, slug: str) -> str:
        return self.placement(slug)

    def create_org(
        self, slug: str, name: str, admin_email: str, admin_name: str | None = None
    ) -> tuple[str, Credentials]:
        """Create the org in its shard. A slug always lands in the same shard, whose own registry of
        slugs refuses a second org of that slug, so slugs stay unique across shards."""
        shard = self.shard_of_slug(slug)
        return shard, self.shards[shard].directory.create_org(slug, name, admin_email, admin_name)

    def authenticate(self, token: str) -> tuple[Services, Actor] | None:
        """The services of the shard that holds the token's org, and the member; None if no shard
        knows the token (asks each shard in turn: a deployment puts the shard key in the token)."""
        for services in self.shards.values():
            actor = services.directory.authenticate(token)
            if isinstance(actor, Actor):
                return services, actor
        return None

    def close(self) -> None:
        for services in self.shards.values():
            services.close()


__all__ = ["Shards", "hashed_placement"]
