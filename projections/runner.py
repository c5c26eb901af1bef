"""Running the read side: `ReadSide` (queries, catch-up, rebuilds, read-your-writes) for the server,
the worker and the CLI, and `Follower`, the loop that keeps the serving copies at the head of the log
(docs/projections.md, "Running").
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from projections.agent_queue import AGENT_QUEUE, QueuedDispatch
from projections.base import BatchResult, EventHook, ReadModel, apply_batch, scope_asked
from projections.feed import FEED, DeliveryRow, FeedRow
from projections.inbox import INBOX, InboxItem
from projections.issues import ISSUES, IssueRow
from projections.outbox import OUTBOX, QueuedMail
from projections.portal import (
    CONTACTS,
    PORTAL,
    ContactRecord,
    EventModel,
    PortalAttachment,
    PortalMessage,
    PortalTicket,
    apply_events,
)
from projections.rule_triggers import RULE_TRIGGERS, apply_rules
from projections.sla_breaches import SlaBreaches
from projections.summary import TICKET_TOPICS
from projections.ticket_list import ListFilters, ListPage, TicketList
from projections.ticket_stats import Counts, TicketStats
from projections.views import View, ViewDatabase, open_view_database
from tickets.application.agent_dispatcher import AgentDispatcher
from tickets.application.app import TicketsApp
from tickets.application.digest import queue_due_digests
from tickets.application.issues import tell_tickets_of_done_issues
from tickets.application.mail_sender import MailSender
from tickets.application.push_back import close_after_window
from tickets.application.rules import RuleEngine
from tickets.application.sla_breaches import record_due_breaches, record_due_warnings
from tickets.application.webhook_sender import WebhookSender
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.settings import Settings
from tickets.infrastructure.stored_events import Prefetcher

logger = logging.getLogger("projections")

TICKET_LIST = TicketList()
TICKET_STATS = TicketStats()
SLA_BREACHES = SlaBreaches()
# The read models folded from ticket summaries, batch by batch (`apply_batch`).
READ_MODELS: dict[str, ReadModel] = {m.name: m for m in (TICKET_LIST, TICKET_STATS, SLA_BREACHES)}
# The read models that apply chosen event types one by one (`projections/portal.py`, `outbox.py`).
EVENT_MODELS: dict[str, EventModel] = {
    m.name: m for m in (PORTAL, CONTACTS, OUTBOX, ISSUES, INBOX, AGENT_QUEUE, FEED)
}
# Every read model.
ALL_MODELS: dict[str, ReadModel] = {**READ_MODELS, **EVENT_MODELS}


class UnknownReadModelError(KeyError):
    """No read model has that name."""


def read_model(name: str) -> ReadModel:
    try:
        return ALL_MODELS[name]
    except KeyError:
        raise UnknownReadModelError(f"no read model {name!r}; choose from {', '.join(ALL_MODELS)}") from None


class Status(NamedTuple):
    name: str
    generation: int | None
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class Stats(NamedTuple):
    counts: Counts
    sla_breached: int  # breached now
    sla_breached_total: int  # ever breached: decided, or breached now


def _minus(whole: Stats, part: Stats) -> Stats:
    """`whole` without `part` (a team's figures taken from its org's)."""

    def less(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {k: n - b.get(k, 0) for k, n in a.items() if n - b.get(k, 0)}

    counts = Counts(
        whole.counts.total - part.counts.total,
        less(whole.counts.by_status, part.counts.by_status),
        less(whole.counts.by_priority, part.counts.by_priority),
        less(whole.counts.by_category, part.counts.by_category),
    )
    return Stats(
        counts, whole.sla_breached - part.sla_breached, whole.sla_breached_total - part.sla_breached_total
    )


# Progress callback of a rebuild: (events folded so far, position reached, target head).
Progress = Callable[[int, int, int], None]


class ProgressSignal:
    """Wakes coroutines, on whatever event loop they wait, when the read side moves on.

    `notify` may be called from any thread (the follower's); waiting holds no thread. A future
    leaves the set once done (woken, or cancelled by its waiter). Adding to, removing from and
    copying a set are each atomic under the GIL, so the set needs no lock.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def waiting(self) -> int:
        """How many coroutines wait for the next progress now."""
        return len(self._waiters)

    def next(self) -> asyncio.Future[None]:
        """A future of the running loop, done at the next `notify` (subscribe before checking the position)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)
        future.add_done_callback(self._waiters.discard)
        return future

    def notify(self) -> None:
        for future in list(self._waiters):
            if future.get_loop().is_closed():  # its done callbacks can never run
                self._waiters.discard(future)
            else:
                future.get_loop().call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ReadSide:
    """The read models of one event store: their serving copies, queries, catch-up and rebuilds."""

    def __init__(
        self, app: TicketsApp, open_views: Callable[[], ViewDatabase], clock: Clock = system_clock
    ) -> None:
        self.app = app
        self._views: ViewDatabase | None = None
        self._open_views = open_views
        self.clock = clock
        self.progress = ProgressSignal()
        self.wake = threading.Event()
        # Set by `close`: whatever waits on the read side (the feed's streams) ends.
        self.closing = threading.Event()
        self._fetch = Prefetcher(app.recorder, TICKET_TOPICS)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, app: TicketsApp, clock: Clock = system_clock) -> ReadSide:
        """The read side of the store named by `settings`; the view database opens on first use."""
        return cls(app, lambda: open_view_database(settings), clock)

    @property
    def views(self) -> ViewDatabase:
        if self._views is None:
            with self._lock:
                if self._views is None:
                    self._views = self._open_views()
        return self._views

    def close(self) -> None:
        self.closing.set()
        self.progress.notify()
        self._fetch.close()
        if self._views is not None:
            self._views.close()
            self._views = None

    def serving_view(self, name: str, model: ReadModel | None = None) -> View:
        """The copy that serves reads, created (empty, to be caught up) if there is none (`model`: one
        that is not among the read models, as the rule engine's)."""
        model = model or read_model(name)
        generation = self.views.active_generation(name)
        if generation is None:
            with self._lock:
                try:  # generations start at 1
                    generation = self.views.active_generation(name) or self.views.add_copy(name, active=True)
                except Exception:  # another process may have created it just now
                    if (generation := self.views.active_generation(name)) is None:
                        raise
        view = self.views.view(model, generation, create=True)
        self.views.prepare_to_serve(view)
        return view

    def head(self) -> int:
        return self.app.head_position()

    def positions(self, names: Iterable[str] | None = None) -> dict[str, int]:
        """The positions of the serving copies of `names` (default: list, stats, SLA)."""
        return {name: self.views.position(self.serving_view(name)) for name in names or READ_MODELS}

    def position(self, names: Iterable[str] | None = None) -> int:
        """The position every serving copy of `names` (default: the ticket list, stats and SLA models)
        has reached."""
        return min(self.views.position(self.serving_view(name)) for name in names or READ_MODELS)

    def status(self) -> list[Status]:
        head = self.head()
        result = []
        for copy in self.views.copies():
            if copy.name not in ALL_MODELS:
                continue
            view = self.views.view(ALL_MODELS[copy.name], copy.generation)
            label = copy.name if copy.active else f"{copy.name} (copy {copy.generation}, not serving)"
            result.append(Status(label, copy.generation, self.views.position(view), head))
        return result

    def step(
        self,
        names: str | Iterable[str] | None = None,
        limit: int = 2000,
        after_event: EventHook | None = None,
    ) -> BatchResult:
        """Apply one batch to the serving copies of `names` (default: all), folding it once for them."""
        chosen = [names] if isinstance(names, str) else list(names or READ_MODELS)
        views = [self.serving_view(n) for n in chosen]
        result = apply_batch(self.views, self.app, views, self._fetch, limit, after_event)
        if result.advanced:
            self.progress.notify()
        return result

    def step_events(self, limit: int = 2000) -> BatchResult:
        """Apply one batch to the serving copies of the event-by-event read models (portal, contacts, ...),
        each event read and decoded once for them all."""
        result = apply_events(self.views, self.app, [self.serving_view(name) for name in EVENT_MODELS], limit)
        if result.advanced:
            self.progress.notify()
        return result

    def catch_up(self, names: Iterable[str] | None = None, limit: int = 2000) -> int:
        """Apply batches until the serving copies of the summary read models have reached the head (or
        are locked by another worker); returns the events folded. `catch_up_all` also does the others."""
        folded = 0
        chosen = list(names or READ_MODELS)
        while (result := self.step(chosen, limit)).advanced:
            folded += result.events
        return folded

    def catch_up_all(self, limit: int = 2000) -> int:
        """Bring every read model to the head."""
        folded = self.catch_up(limit=limit)
        while (result := self.step_events(limit)).advanced:
            folded += result.events
        return folded

    def wait_for(self, position: int, timeout: float, names: Iterable[str] | None = None) -> bool:
        """`reach`, for a caller outside any event loop: whether the serving copies reached `position`."""
        return asyncio.run(self.reach(position, timeout, poll_interval=0.05, names=names)) >= position

    async def reach(
        self, position: int, timeout: float, poll_interval: float = 0.1, names: Iterable[str] | None = None
    ) -> int:
        """Wait on the event loop (bounded) until every serving copy of `names` (as `position`) has
        reached `position`.

        Returns the position reached. The wait holds no thread: it sleeps on `progress`, which
        the follower signals after each batch, and re-reads the positions (a short query in a
        worker thread) when woken, or every `poll_interval` for followers in other processes.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        chosen = list(names or READ_MODELS)
        while True:
            progressed = self.progress.next()
            try:
                reached = await asyncio.to_thread(self.position, chosen)
                remaining = deadline - loop.time()
                if reached >= position or remaining <= 0:
                    return reached
                self.wake.set()  # an embedded follower starts its next batch now
                await asyncio.wait({progressed}, timeout=min(remaining, poll_interval))
            finally:
                progressed.cancel()

    def rebuild_all(
        self,
        names: Iterable[str] | None = None,
        progress: Progress | None = None,
        switch: bool = True,
        batch_size: int = 5000,
    ) -> dict[str, int]:
        """Replay the whole log, folded once, into a new copy of each of `names` (default: all); switch
        reads to them (dropping the old copies). Returns the new copies' generations.

        New copies are built without their secondary indexes (`ReadModel.serving_ddl`): they are
        created in one go by the switch. The serving copies keep answering (and following the
        log) until then.
        """
        models = [read_model(name) for name in names or ALL_MODELS]
        targets = [self.views.view(m, self.views.add_copy(m.name, active=False), create=True) for m in models]
        self._fill(targets, progress, batch_size)
        for view in targets if switch else []:
            self.switch(view.copy.name, view.copy.generation, batch_size)
        return {view.copy.name: view.copy.generation for view in targets}

    def _fill(self, targets: list[View], progress: Progress | None, batch_size: int) -> None:
        """Apply batches to copies that do not serve until they reach the head read at the start.

        Stopping there, and not at the head each batch reads, keeps the pages read ahead
        (`Prefetcher`) the ones the batches ask for even while the log grows; a switch catches
        the copy up to the newer head after.
        """
        target = self.head()
        folded = 0
        # The customer's side's models apply their own event types, together, to the head.
        event_views = [v for v in targets if isinstance(v.model, EventModel)]
        while event_views and (
            (done := apply_events(self.views, self.app, event_views, batch_size)).advanced or done.locked_out
        ):
            folded += done.events
            if done.locked_out:
                time.sleep(0.05)
        targets = [v for v in targets if not isinstance(v.model, EventModel)]
        while targets:
            result = apply_batch(self.views, self.app, targets, self._fetch, batch_size, stop_at=target)
            folded += result.events
            if progress is not None:
                progress(folded, result.position, max(target, result.position))
            if result.locked_out:
                time.sleep(0.05)
            elif not result.advanced:
                return

    def switch(self, name: str, generation: int, batch_size: int = 5000) -> None:
        """Give copy `generation` of `name` its secondary indexes, catch it up and make it serve reads;
        drop the previous copy. It is caught up once before the index build takes its writer lock,
        so that the lock is held for the index build and the few events after it only."""
        view = self.views.view(read_model(name), generation)
        self._fill([view], None, batch_size)
        self.views.prepare_to_serve(view)
        self._fill([view], None, batch_size)
        previous = self.views.active_generation(name)
        self.views.activate(name, generation)
        if previous is not None and previous != generation:
            self.views.drop_copy(view.model, previous)

    def drop(self, name: str, generation: int) -> None:
        """Drop a copy that does not serve (an abandoned rebuild)."""
        if self.views.active_generation(name) == generation:
            raise ValueError(f"copy {generation} of {name} is serving; rebuild instead")
        self.views.drop_copy(read_model(name), generation)

    def dump(self, name: str, generation: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of a copy's tables, sorted (for comparing copies)."""
        model = read_model(name)
        view = self.views.view(model, generation) if generation else self.serving_view(name)
        tables: dict[str, list[tuple[Any, ...]]] = {}
        with self.views.read(view) as curs:
            for table in model.tables:
                curs.execute(f"SELECT * FROM {view.copy.prefix}_{table}")
                tables[table] = sorted(
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in dict(row).values())
                    for row in curs.fetchall()
                )
        return tables

    def list_tickets(
        self,
        org_id: str,
        filters: ListFilters,
        now: datetime,
        sort: str = "-createdAt",
        after: tuple[int, int] | None = None,
        limit: int = 50,
    ) -> ListPage:
        view = self.serving_view(TICKET_LIST.name)
        with self.views.read(view) as curs:
            return TICKET_LIST.page(curs, view.copy, org_id, filters, now, sort, after, limit)

    def stats(
        self,
        org_id: str,
        now: datetime,
        team_id: str | None = None,
        assignee_id: str | None = None,
        hidden_team_ids: Iterable[str] = (),
    ) -> Stats:
        """Counts and SLA breaches of the org, a team, an assignee (or an assignee within a team). The
        tickets of `hidden_team_ids` (private teams the reader is not in) are left out, by taking those
        teams' own figures (or the assignee's in them) away; a hidden team's figures are all zero."""
        hidden = set(hidden_team_ids)
        if team_id is not None and team_id in hidden:
            return Stats(Counts(0, {}, {}, {}), 0, 0)
        stats = self._stats(org_id, now, team_id, assignee_id)
        if team_id is not None:
            return stats
        for hidden_team in sorted(hidden):
            stats = _minus(stats, self._stats(org_id, now, hidden_team, assignee_id))
        return stats

    def _stats(self, org_id: str, now: datetime, team_id: str | None, assignee_id: str | None) -> Stats:
        scope, scope_id = scope_asked(team_id, assignee_id)
        stats_view, sla_view = self.serving_view(TICKET_STATS.name), self.serving_view(SLA_BREACHES.name)
        with self.views.read(stats_view) as curs:
            counts = TICKET_STATS.counts(curs, stats_view.copy, org_id, scope, scope_id)
        with self.views.read(sla_view) as curs:
            return Stats(counts, *SLA_BREACHES.breaches(curs, sla_view.copy, org_id, now, scope, scope_id))

    def contacts(
        self, org_id: str, q: str | None, after: tuple[str, str] | None, limit: int
    ) -> tuple[list[ContactRecord], tuple[str, str] | None]:
        view = self.serving_view(CONTACTS.name)
        with self.views.read(view) as curs:
            return CONTACTS.page(curs, view.copy, org_id, q, after, limit)

    def contact(self, org_id: str, contact_id: str) -> ContactRecord | None:
        view = self.serving_view(CONTACTS.name)
        with self.views.read(view) as curs:
            return CONTACTS.find(curs, view.copy, org_id, contact_id)

    def portal_tickets(
        self, org_id: str, contact_id: str, after: tuple[int, int] | None, limit: int
    ) -> tuple[list[PortalTicket], tuple[int, int] | None]:
        view = self.serving_view(PORTAL.name)
        with self.views.read(view) as curs:
            return PORTAL.tickets_of(curs, view.copy, org_id, contact_id, after, limit)

    def portal_ticket(
        self, org_id: str, contact_id: str, number: int
    ) -> tuple[PortalTicket, list[PortalMessage]] | None:
        """A contact's ticket and its public thread (read at one position), or None."""
        view = self.serving_view(PORTAL.name)
        with self.views.read(view) as curs:
            ticket = PORTAL.ticket(curs, view.copy, org_id, contact_id, number)
            return None if ticket is None else (ticket, PORTAL.messages(curs, view.copy, ticket.ticket_id))

    def portal_attachment(self, org_id: str, contact_id: str, attachment_id: str) -> PortalAttachment | None:
        view = self.serving_view(PORTAL.name)
        with self.views.read(view) as curs:
            return PORTAL.attachment(curs, view.copy, org_id, contact_id, attachment_id)

    def push_back_over(self, now: datetime, limit: int) -> list[str]:
        """Resolved tickets whose push-back window has run out: what the closer asks for."""
        view = self.serving_view(PORTAL.name)
        with self.views.read(view) as curs:
            return PORTAL.window_over(curs, view.copy, now, limit)

    def issues(
        self, org_id: str, status: str | None, assignee_id: str | None, before: int | None, limit: int
    ) -> tuple[list[IssueRow], int | None]:
        """A page of the org's issues, newest first, and the number to continue before (None: the end)."""
        view = self.serving_view(ISSUES.name)
        with self.views.read(view) as curs:
            return ISSUES.page(curs, view.copy, org_id, status, assignee_id, before, limit)

    def inbox(
        self,
        org_id: str,
        member_id: str,
        unread: bool,
        before: int | None,
        limit: int,
        hidden_team_ids: Collection[str] = (),
    ) -> tuple[list[InboxItem], int | None]:
        """A page of a member's notifications, newest first, and the position to continue before; none
        about the tickets of `hidden_team_ids` (private teams the member is not in)."""
        view = self.serving_view(INBOX.name)
        with self.views.read(view) as curs:
            return INBOX.items(curs, view.copy, org_id, member_id, unread, before, limit, hidden_team_ids)

    def inbox_item(
        self, org_id: str, member_id: str, item_id: str, hidden_team_ids: Collection[str] = ()
    ) -> InboxItem | None:
        view = self.serving_view(INBOX.name)
        with self.views.read(view) as curs:
            return INBOX.item(curs, view.copy, org_id, member_id, item_id, hidden_team_ids)

    def inbox_unread(self, org_id: str, member_id: str, hidden_team_ids: Collection[str] = ()) -> int:
        view = self.serving_view(INBOX.name)
        with self.views.read(view) as curs:
            return INBOX.unread_count(curs, view.copy, org_id, member_id, hidden_team_ids)

    def digests_due(self, now: datetime, limit: int) -> list[str]:
        """Inboxes whose e-mail digest may be due by `now`, with something unread: what the digest policy asks for."""
        view = self.serving_view(INBOX.name)
        with self.views.read(view) as curs:
            return INBOX.digests_due(curs, view.copy, now, limit)

    def unread_after(
        self, org_id: str, member_id: str, after: int, limit: int
    ) -> tuple[list[InboxItem], int]:
        """A member's unread notifications after log position `after`, oldest first, and the position read at."""
        view = self.serving_view(INBOX.name)
        with self.views.read(view) as curs:
            return INBOX.unread_after(curs, view.copy, org_id, member_id, after, limit), view.position_in(
                curs
            )

    def done_issue_links(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(issue, ticket) links of done issues whose ticket was not told yet: the issue policy's work."""
        view = self.serving_view(ISSUES.name)
        with self.views.read(view) as curs:
            return ISSUES.done_untold(curs, view.copy, limit)

    def mail_due(self, now: datetime, limit: int) -> list[QueuedMail]:
        """Mails due to be sent (or tried again) by `now`: what the mail sender asks for."""
        view = self.serving_view(OUTBOX.name)
        with self.views.read(view) as curs:
            return OUTBOX.due(curs, view.copy, now, limit)

    def mail_counts(self) -> dict[str, int]:
        """How many mails of the outbox are in each state (queued, sending, retrying, sent, failed)."""
        view = self.serving_view(OUTBOX.name)
        with self.views.read(view) as curs:
            return OUTBOX.counts(curs, view.copy)

    def dispatches_due(self, now: datetime, limit: int) -> list[QueuedDispatch]:
        """Agent dispatches to run (or look at again) by `now`: what the agent dispatcher asks for."""
        view = self.serving_view(AGENT_QUEUE.name)
        with self.views.read(view) as curs:
            return AGENT_QUEUE.due(curs, view.copy, now, limit)

    def feed_page(self, org_id: str, after: int, types: list[str], limit: int) -> tuple[list[FeedRow], int]:
        """An org's feed events after `after` (of `types`, if any), and the position to ask after next:
        the last event's when the page is full, else the position the feed has reached (so a quiet
        org's cursor moves on too)."""
        view = self.serving_view(FEED.name)
        with self.views.read(view) as curs:
            reached = view.position_in(curs)
            rows = FEED.page(curs, view.copy, org_id, after, types, limit)
        if len(rows) == limit:
            return rows, rows[-1].position
        return rows, max(after, reached, rows[-1].position if rows else 0)

    def feed_position(self) -> int:
        return self.views.position(self.serving_view(FEED.name))

    def webhooks_due(self, now: datetime, limit: int) -> list[list[DeliveryRow]]:
        """Each webhook's open deliveries whose head is due by `now`: what the webhook sender asks for."""
        view = self.serving_view(FEED.name)
        with self.views.read(view) as curs:
            return FEED.due(curs, view.copy, now, limit)

    def webhook_deliveries(
        self, webhook_id: str, before: tuple[int, str] | None, limit: int
    ) -> list[DeliveryRow]:
        view = self.serving_view(FEED.name)
        with self.views.read(view) as curs:
            return FEED.deliveries(curs, view.copy, webhook_id, before, limit)

    def webhook_delivery(self, delivery_id: str) -> DeliveryRow | None:
        view = self.serving_view(FEED.name)
        with self.views.read(view) as curs:
            return FEED.delivery(curs, view.copy, delivery_id)

    def run_rules(self, engine: RuleEngine, limit: int = 500) -> BatchResult:
        """Hand the next trigger events of the log to the rule engine (`projections/rule_triggers.py`)."""
        view = self.serving_view(RULE_TRIGGERS.name, RULE_TRIGGERS)
        return apply_rules(self.views, self.app, view, engine.run, limit)

    def open_ticket_counts(self, org_id: UUID, member_ids: Sequence[UUID]) -> dict[UUID, int]:
        """How many open (not resolved or closed) tickets each of these members is assigned."""
        view = self.serving_view(TICKET_LIST.name)
        with self.views.read(view) as curs:
            counts = TICKET_LIST.open_counts(curs, view.copy, str(org_id), [str(m) for m in member_ids])
        return {UUID(k): v for k, v in counts.items()}

    def due_sla_warnings(
        self, now: datetime, percent_of: Callable[[str], int | None], limit: int
    ) -> list[str]:
        """Tickets about to breach, not yet warned of: what the warning recorder asks for."""
        view = self.serving_view(SLA_BREACHES.name)
        with self.views.read(view) as curs:
            return SLA_BREACHES.due_warnings(curs, view.copy, now, percent_of, limit)

    def unrecorded_breaches(self, now: datetime, limit: int) -> list[str]:
        """Tickets breached by `now` whose breach is not yet recorded: what the breach recorder asks for."""
        view = self.serving_view(SLA_BREACHES.name)
        with self.views.read(view) as curs:
            return SLA_BREACHES.unrecorded(curs, view.copy, now, limit)


@dataclass(eq=False)
class Follower:
    """Keeps the serving copies at the head of the log, and records SLA breaches as they happen.

    Runs in a thread of the server (embedded) or as `pfai projections run`. Several
    followers may run against one PostgreSQL database: each batch holds its copy's
    advisory lock, so no event is applied twice.
    """

    read_side: ReadSide
    poll_interval: float = 0.5
    breach_interval: float = 15.0
    record_breaches: bool = True
    batch_size: int = 2000
    # Sends the mails the outbox says are due (the email channel), each round at most every `mail_interval`.
    mail_sender: MailSender | None = None
    mail_interval: float = 1.0
    # Runs the agent dispatches the agent queue says are due, each round at most every `agent_interval`,
    # and retrains stale triage models every `retrain_interval`.
    agent_dispatcher: AgentDispatcher | None = None
    agent_interval: float = 1.0
    retrain_interval: float = 3600.0
    # Runs the trigger rules for the new events of the log (`application/rules.py`), every round.
    rule_engine: RuleEngine | None = None
    _next_mail_round: float = field(default=0.0, init=False)
    _next_agent_round: float = field(default=0.0, init=False)
    _next_retrain: float = field(default=0.0, init=False)
    # Delivers the feed events the webhooks' queues say are due, each round at most every `webhook_interval`.
    webhook_sender: WebhookSender | None = None
    webhook_interval: float = 1.0
    _next_webhook_round: float = field(default=0.0, init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _next_breach_check: float = field(default=0.0, init=False)

    def run_once(self) -> int:
        """One round: a batch folded once for every serving copy, then the breach recorder if it is due.

        Returns the events folded (plus one if the copies moved on without any).
        """
        result = self.read_side.step(limit=self.batch_size)
        customer_side = self.read_side.step_events(limit=self.batch_size)
        if self.record_breaches and time.monotonic() >= self._next_breach_check:
            self._next_breach_check = time.monotonic() + self.breach_interval
            self.run_policies()
        if self.mail_sender is not None and time.monotonic() >= self._next_mail_round:
            self._next_mail_round = time.monotonic() + self.mail_interval
            self.send_mail()
        if self.agent_dispatcher is not None and time.monotonic() >= self._next_agent_round:
            self._next_agent_round = time.monotonic() + self.agent_interval
            self.run_agents()
        if self.agent_dispatcher is not None and time.monotonic() >= self._next_retrain:
            self._next_retrain = time.monotonic() + self.retrain_interval
            self.agent_dispatcher.triage.retrain_stale()
        if self.webhook_sender is not None and time.monotonic() >= self._next_webhook_round:
            self._next_webhook_round = time.monotonic() + self.webhook_interval
            self.send_webhooks()
        rules = self.run_rules()
        moved = result.events + customer_side.events + rules.events
        return moved + (1 if result.advanced or customer_side.advanced or rules.advanced else 0)

    def run_policies(self) -> None:
        """The policies time drives: record SLA breaches, close tickets whose push-back window ran out,
        tell tickets of their linked issues that are done."""
        read_side = self.read_side
        record_due_breaches(read_side.app, read_side.unrecorded_breaches, read_side.clock())
        record_due_warnings(read_side.app, read_side.due_sla_warnings, read_side.clock())
        close_after_window(read_side.app, read_side.push_back_over, read_side.clock())
        tell_tickets_of_done_issues(read_side.app, read_side.done_issue_links, read_side.clock())
        # And each opted-in member's e-mail digest, once its period has ended (the mail sender sends it).
        queue_due_digests(read_side.app, read_side.digests_due, read_side.unread_after, read_side.clock())

    def send_mail(self) -> int:
        """Hand the due mails to the transport (once each, across servers); how many were sent."""
        if self.mail_sender is None:
            return 0
        return self.mail_sender.send_due(self.read_side.mail_due)

    def run_agents(self) -> int:
        """Run the agent dispatches that are due (once each, across servers); how many ended or were handed over."""
        if self.agent_dispatcher is None:
            return 0
        return self.agent_dispatcher.run_due(self.read_side.dispatches_due)

    def send_webhooks(self) -> int:
        """Deliver the due feed events to their webhooks (each attempt once, across servers)."""
        if self.webhook_sender is None:
            return 0
        return self.webhook_sender.send_due(self.read_side.webhooks_due)

    def run_rules(self) -> BatchResult:
        """Run the trigger rules for the next batch of trigger events (once each, across servers)."""
        if self.rule_engine is None:
            return BatchResult()
        return self.read_side.run_rules(self.rule_engine)

    def run(self) -> None:
        """Follow the log until `stop()`; errors are logged and retried after a pause."""
        while not self._stopping.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:
                logger.exception("projection batch failed; retrying")
                busy = False
                self._stopping.wait(self.poll_interval)
            if not busy:
                self.read_side.wake.wait(self.poll_interval)
                self.read_side.wake.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="projections", daemon=True)
        self._thread.start()

    def stop_soon(self) -> None:
        """Ask the loop to end after the current batch (safe from a signal handler)."""
        self._stopping.set()
        self.read_side.wake.set()

    def stop(self) -> None:
        self.stop_soon()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
