"""Two orgs in two PostgreSQL databases (docs/scaling.md): each org's history, numbers and reads
live whole in its own shard, and neither shard knows the other's org."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.conftest import PG_ADMIN_DSN
from tickets.application.actors import Actor
from tickets.domain.commands import NewTicket
from tickets.domain.errors import NotFoundError
from tickets.domain.ticket import Ticket
from tickets.sharding import Shards


@contextmanager
def scratch_database(admin: psycopg.Connection[object]) -> Iterator[str]:
    name = f"tickets_shard_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_orgs_in_two_databases_are_isolated_and_numbered_on_their_own(postgres_url: str) -> None:
    with (
        psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin,
        scratch_database(admin) as east_url,
        scratch_database(admin) as west_url,
    ):
        placement = {"acme": "east", "globex": "west"}
        shards = Shards.open({"east": east_url, "west": west_url}, placement=placement.__getitem__)
        try:
            tokens = {}
            for slug in placement:
                shard, created = shards.create_org(slug, slug.title(), f"admin@{slug}.test")
                assert shard == placement[slug]
                tokens[slug] = created.token
            routed = {slug: shards.authenticate(token) for slug, token in tokens.items()}
            assert shards.authenticate("not-a-token") is None
            made: dict[str, list[Ticket]] = {}
            for slug, found in routed.items():
                assert found is not None
                services, actor = found
                assert isinstance(actor, Actor)
                assert services is shards.shards[placement[slug]]
                made[slug] = [
                    services.tickets.create(actor, NewTicket(subject=f"{slug} {i}")).value for i in range(3)
                ]
            # Numbers: each org counts from 1 in its own shard, gap-free.
            for tickets in made.values():
                assert [t.ticket_number for t in tickets] == [1, 2, 3]

            # Isolation: each database holds only its own org's events, and a shard does not know
            # the other org's tickets or token.
            for slug, (services, actor) in ((s, f) for s, f in routed.items() if f is not None):
                org_ids = {
                    getattr(services.app.mapper.to_domain_event(stored), "org_id", None)
                    for stored in services.app.recorder.select_notifications(start=1, limit=10_000)
                }
                assert org_ids - {None} == {actor.org_id}, slug
                other = "globex" if slug == "acme" else "acme"
                with pytest.raises(NotFoundError):
                    services.tickets.get(actor, str(made[other][0].id))
                assert services.directory.authenticate(tokens[other]) is None

            # A slug lands in one shard, which refuses it a second time.
            with pytest.raises(Exception, match="acme"):
                shards.create_org("acme", "Acme again", "x@acme.test")
        finally:
            shards.close()


def test_hashed_placement_is_stable_and_spreads_orgs() -> None:
    from tickets.sharding import hashed_placement

    place = hashed_placement(["b", "a"])
    slugs = [f"org-{i}" for i in range(200)]
    first = [place(s) for s in slugs]
    assert first == [hashed_placement(["a", "b"])(s) for s in slugs]  # same in any process, any order
    assert 60 < first.count("a") < 140
