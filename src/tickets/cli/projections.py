"""`pfai projections`: run, inspect and rebuild the read models of the store (TICKETS_DATABASE_URL)."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from projections.runner import ALL_MODELS, Follower, ReadSide, UnknownReadModelError
from tickets.bootstrap import follower_of
from tickets.cli.options import examples
from tickets.cli.store import store
from tickets.infrastructure.leadership import Leadership


@contextmanager
def opened_read_side() -> Iterator[ReadSide]:
    with store() as services:
        assert services.read_side is not None
        yield services.read_side


@click.group()
@examples(
    "pfai projections run                      # a worker; run the servers with TICKETS_PROJECTIONS=external",
    "pfai projections status",
    "pfai projections rebuild ticket_stats     # build a fresh copy, then switch reads to it",
)
def projections() -> None:
    """Run, inspect and rebuild the read models (ticket_list, ticket_stats, sla_breaches)."""


@projections.command()
@click.option("--poll-interval", default=0.5, show_default=True, help="Seconds between polls when idle.")
@click.option("--breach-interval", default=15.0, show_default=True, help="Seconds between SLA breach checks.")
@click.option("--batch-size", default=2000, show_default=True, help="Events per view transaction.")
def run(poll_interval: float, breach_interval: float, batch_size: int) -> None:
    """Follow the event log and keep every read model at its head, until interrupted.

    On PostgreSQL the workers and the servers of a deployment elect one of them to follow (an
    advisory lock): start a second worker as a standby, it takes over within seconds of the
    first one's end. Even two that overlap apply no event twice (each batch holds its read
    model's lock), and a worker killed mid-batch leaves nothing half-done.
    """
    with store() as services:
        # The workers run every policy too (mail, rules, agents, webhooks, breaches): with
        # TICKETS_PROJECTIONS=external the servers run none of them.
        def new_follower() -> Follower:
            return follower_of(
                services, poll_interval=poll_interval, breach_interval=breach_interval, batch_size=batch_size
            )

        runner: Follower | Leadership
        if services.store == "postgresql":
            runner = Leadership(
                services.app.env, "follower", new_follower, announce=lambda line: click.echo(line, err=True)
            )
        else:
            runner = new_follower()

        def stop(signum: int, frame: FrameType | None) -> None:
            runner.stop_soon()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        assert services.read_side is not None
        click.echo(f"following the log (head {services.read_side.head()}); Ctrl-C stops", err=True)
        runner.run()


@projections.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Each read model's position, the head of the event log, and the lag."""
    with opened_read_side() as read_side:
        for name in ALL_MODELS:
            read_side.serving_view(name)
        rows = read_side.status()
    if as_json:
        payload = [
            {"name": r.name, "copy": r.generation, "position": r.position, "head": r.head, "lag": r.lag}
            for r in rows
        ]
        click.echo(json.dumps(payload))
        return
    click.echo(f"{'read model':<42} {'copy':>5} {'position':>12} {'head':>12} {'lag':>10}")
    for r in rows:
        click.echo(f"{r.name:<42} {r.generation or 0:>5} {r.position:>12} {r.head:>12} {r.lag:>10}")


class ProgressLine:
    """One progress line on stderr: bar, positions, events/s and ETA."""

    width = 30  # of the bar

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.events = self.position = self.target = 0  # as last reported

    def __call__(self, events: int, position: int, target: int, final: bool = False) -> None:
        self.events, self.position, self.target = events, position, target
        now = time.monotonic()
        if not final and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        elapsed = max(now - self.started, 1e-9)
        rate = events / elapsed
        done = position / target if target else 1.0
        eta = max(target - position, 0) * elapsed / position if position else 0  # at the rate so far
        filled = int(self.width * min(done, 1.0))
        bar = "#" * filled + "-" * (self.width - filled)
        click.echo(
            f"\r{self.name:<13} [{bar}] {done:6.1%}  {position:,}/{target:,}  "
            f"{rate:,.0f} events/s  ETA {int(eta) // 60}:{int(eta) % 60:02d} ",
            nl=final,
            err=True,
        )


@projections.command()
@click.argument("names", nargs=-1)
@click.option(
    "--no-switch", is_flag=True, help="Build the new copy but keep serving the old one (switch later)."
)
@click.option("--batch-size", default=5000, show_default=True, help="Events per view transaction.")
def rebuild(names: tuple[str, ...], no_switch: bool, batch_size: int) -> None:
    """Replay the whole log into a fresh copy of each named read model (default: all), then switch to them.

    The named read models are rebuilt together: each event is decoded and folded once for all
    of them. The servers keep answering from the current copies while the new ones are built.
    A copy is filled without its query indexes; the switch builds them, catches the copy up,
    and is then one registry update, after which the old copy is dropped.
    """
    chosen = names or tuple(ALL_MODELS)
    with opened_read_side() as read_side:
        progress = ProgressLine("+".join(chosen) if len(chosen) < len(ALL_MODELS) else "all")
        try:
            generations = read_side.rebuild_all(chosen, progress, switch=not no_switch, batch_size=batch_size)
        except UnknownReadModelError as error:
            click.echo(f"error: {error.args[0]}", err=True)
            sys.exit(2)
        progress(progress.events, progress.position, progress.target, final=True)
        elapsed, events = time.monotonic() - progress.started, progress.events
        for name, generation in generations.items():
            what = "now serving" if not no_switch else f"built; switch with: pfai projections switch {name}"
            click.echo(f"{name}: copy {generation} {what}")
        click.echo(f"{events:,} events in {elapsed:.1f} s, {events / max(elapsed, 1e-9):,.0f} events/s")


@projections.command()
@click.argument("name")
@click.argument("copy", type=int, required=False)
def switch(name: str, copy: int | None) -> None:
    """Serve reads of NAME from COPY (default: the newest copy), after indexing and catching it up; drop the old copy."""
    with opened_read_side() as read_side:
        copies = [c.generation for c in read_side.views.copies(name)]
        if not copies:
            click.echo(f"error: no copies of {name!r}", err=True)
            sys.exit(2)
        target = copy if copy is not None else max(copies)
        if target not in copies:
            click.echo(f"error: {name} has no copy {target}; copies: {copies}", err=True)
            sys.exit(2)
        read_side.switch(name, target)
        click.echo(f"{name}: copy {target} now serving")
