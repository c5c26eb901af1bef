"""The group committer's cross-process locks (PostgreSQL advisory locks): creates of one org in two
servers take the counter in turn instead of clashing, and a lock is released, timed out or freed."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import psycopg
import pytest

from tickets.application.actors import Actor
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket
from tickets.domain.errors import InvalidValueError
from tickets.infrastructure.key_locks import PostgresKeyLocks
from tickets.infrastructure.leadership import conninfo
from tickets.infrastructure.settings import Settings


@pytest.fixture
def env(postgres_url: str) -> dict[str, str]:
    return Settings(postgres_url).persistence_env()


def test_a_held_key_is_refused_elsewhere_until_released(env: dict[str, str]) -> None:
    first, second = PostgresKeyLocks(env), PostgresKeyLocks(env, lock_timeout_ms=100)
    try:
        assert first.acquire("counter-a", wait=True)
        assert not second.acquire("counter-a", wait=False)
        assert second.acquire("counter-b", wait=False)  # another key is free
        started = time.monotonic()
        assert not second.acquire("counter-a", wait=True)  # waited, timed out: go on without it
        assert time.monotonic() - started >= 0.1
        first.release_all()
        assert second.acquire("counter-a", wait=True)
        assert not first.acquire("counter-a", wait=False)
    finally:
        first.close()
        second.close()


def test_a_dead_holder_frees_its_locks(env: dict[str, str]) -> None:
    holder, other = PostgresKeyLocks(env), PostgresKeyLocks(env, lock_timeout_ms=2000)
    try:
        assert holder.acquire("counter-a", wait=True)
        # The holder's session ends as if its process were killed: the lock goes with it.
        with psycopg.connect(conninfo(env), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'pfai-key-locks' AND pid IN"
                " (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
            )
        assert other.acquire("counter-a", wait=True)
        assert not holder.acquire("counter-a", wait=False)  # reconnects, and finds it held
    finally:
        holder.close()
        other.close()


def _actor(services: Services, token: str) -> Actor:
    actor = services.directory.authenticate(token)
    assert isinstance(actor, Actor)
    return actor


def test_two_servers_creating_for_one_org_take_the_counter_in_turn(postgres_url: str) -> None:
    servers = [build_services(Settings(postgres_url)) for _ in range(2)]
    try:
        created = servers[0].directory.create_org(f"turns-{secrets.token_hex(3)}", "Turns", "a@turns.test")
        actor = _actor(servers[0], created.token)
        count = 120

        def create(i: int) -> int:
            writer = servers[i % 2]
            if i % 10 == 0:  # failing commands in the batches too
                with pytest.raises(InvalidValueError):
                    writer.tickets.create(actor, NewTicket(subject="bad", team_id=uuid4()))
            return writer.tickets.create(actor, NewTicket(subject=f"parallel {i}")).value.ticket_number

        with ThreadPoolExecutor(24) as pool:
            numbers = list(pool.map(create, range(count)))
        assert sorted(numbers) == list(range(1, count + 1))
        # Each server's batches waited for the other's to commit: none had to run again.
        assert [s.tickets.committer.clashes for s in servers] == [0, 0]
    finally:
        for server in servers:
            server.close()
