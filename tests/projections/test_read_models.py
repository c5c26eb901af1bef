"""The read models equal a fold over the events, a rebuild equals the live copy, and a killed run resumes.

Every test runs on SQLite and on PostgreSQL. Nothing sleeps: the tests drive the
projections batch by batch and compare with the aggregates themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import views
from projections.base import EPOCH
from projections.runner import ALL_MODELS, READ_MODELS, ReadSide
from projections.sla_breaches import SPAN
from projections.summary import FOLD_VERSION, SUMMARY_ENCODER, TICKET_EVENTS, TICKET_TOPICS, evolve
from projections.ticket_list import ListFilters
from tickets.application.actors import Actor
from tickets.application.app import TicketsApp
from tickets.bootstrap import Services, build_services
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import DomainError
from tickets.domain.ticket import Ticket
from tickets.domain.values import Category, Priority, Role, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.settings import Settings


class Desk:
    """An org with an admin, an agent, a team, two tags and SLA policies, driven by commands."""

    def __init__(self, services: Services, clock: ManualClock, slug: str) -> None:
        self.services = services
        self.clock = clock
        created = services.directory.create_org(slug, slug, f"admin@{slug}.test")
        self.admin = Actor(created.user_id, created.org_id, Role.ADMIN)
        agent = services.directory.create_user(created.org_id, f"agent@{slug}.test", "Agent", Role.AGENT)
        self.agent = Actor(agent.user_id, agent.org_id, Role.AGENT)
        self.team = services.directory.create_team(self.admin, "Support", "").value.id
        self.tags = [
            services.directory.create_tag(self.admin, n, "#112233", None).value.id for n in ("a", "b")
        ]
        for priority, minutes in ((Priority.HIGH, 30), (Priority.URGENT, 10)):
            services.directory.create_sla_policy(self.admin, priority, minutes, minutes * 4, None)
        self.ticket_ids: list[UUID] = []

    def run(self, command: tuple[Any, ...]) -> None:
        kind, *args = command
        tickets = self.services.tickets
        try:
            if kind == "create":
                priority, category, assigned, tagged, teamed = args
                new = NewTicket(
                    subject=f"Ticket {len(self.ticket_ids)} printer jam",
                    description="It does not print",
                    priority=priority,
                    category=category,
                    assignee_id=self.agent.user_id if assigned else None,
                    tag_ids=self.tags[:1] if tagged else [],
                    team_id=self.team if teamed else None,
                )
                self.ticket_ids.append(tickets.create(self.admin, new).value.id)
                return
            if kind == "advance":
                self.clock.advance(minutes=args[0])
                return
            if not self.ticket_ids:
                return
            ref = str(self.ticket_ids[args[0] % len(self.ticket_ids)])
            if kind == "status":
                tickets.update(self.agent, ref, TicketChanges(status=args[1]))
            elif kind == "priority":
                tickets.update(self.agent, ref, TicketChanges(priority=args[1]))
            elif kind == "assign":
                tickets.assign(self.agent, ref, self.agent.user_id if args[1] else None)
            elif kind == "tags":
                tickets.update(
                    self.agent,
                    ref,
                    TicketChanges(tag_ids=[t for t, keep in zip(self.tags, args[1], strict=True) if keep]),
                )
            elif kind == "team":
                tickets.update(self.admin, ref, TicketChanges(team_id=self.team if args[1] else None))
            elif kind == "message":
                tickets.add_message(self.agent if args[1] else self.admin, ref, "On it", args[2])
            elif kind == "delete":
                tickets.delete(self.admin, ref)
            elif kind == "breach":
                from tickets.application.sla_breaches import record_breach

                record_breach(self.services.app, UUID(ref), self.clock())
        except DomainError:
            pass  # e.g. a change to a closed or deleted ticket: refused, nothing recorded

    def live_tickets(self) -> list[Ticket]:
        found = [self.services.app.repository.get(i) for i in self.ticket_ids]
        return [t for t in found if not t.deleted]


ticket_index = st.integers(0, 20)
commands = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"),
            st.sampled_from(list(Priority)),
            st.sampled_from(list(Category)),
            st.booleans(),
            st.booleans(),
            st.booleans(),
        ),
        st.tuples(st.just("status"), ticket_index, st.sampled_from(list(Status))),
        st.tuples(st.just("priority"), ticket_index, st.sampled_from(list(Priority))),
        st.tuples(st.just("assign"), ticket_index, st.booleans()),
        st.tuples(st.just("tags"), ticket_index, st.tuples(st.booleans(), st.booleans())),
        st.tuples(st.just("team"), ticket_index, st.booleans()),
        st.tuples(st.just("message"), ticket_index, st.booleans(), st.booleans()),
        st.tuples(st.just("delete"), ticket_index),
        st.tuples(st.just("advance"), st.integers(1, 200)),
        st.tuples(st.just("breach"), ticket_index),
    ),
    max_size=25,
)


def read_side_of(services: Services) -> ReadSide:
    assert services.read_side is not None
    return services.read_side


def assert_views_equal_fold(desk: Desk) -> None:
    read_side = read_side_of(desk.services)
    now = desk.clock()
    org_id = str(desk.admin.org_id)
    live = desk.live_tickets()

    page = read_side.list_tickets(org_id, ListFilters(), now, sort="createdAt", limit=200)
    assert page.next_after is None
    listed = [
        (
            r.number,
            r.status,
            r.priority,
            r.category,
            r.assignee_id,
            r.team_id,
            sorted(r.tag_ids),
            r.message_count,
            r.sla_deadline,
            r.sla.is_breached(Status(r.status), now),
            r.sla.first_response_breached(now),
            r.sla.resolution_breached(now),
            r.updated_at,
        )
        for r in page.rows
    ]
    expected = [
        (
            t.ticket_number,
            t.status.value,
            t.priority.value,
            t.category.value,
            str(t.assignee_id) if t.assignee_id else None,
            str(t.team_id) if t.team_id else None,
            sorted(str(x) for x in t.tag_ids),
            t.message_count,
            t.sla.shown_deadline(t.status),
            t.is_sla_breached(now),
            t.sla.first_response_breached(now),
            t.sla.resolution_breached(now),
            t.modified_on,
        )
        for t in sorted(live, key=lambda t: t.ticket_number)
    ]
    assert listed == expected

    breached = read_side.list_tickets(org_id, ListFilters(breached=True), now, limit=200)
    assert sorted(r.number for r in breached.rows) == sorted(
        t.ticket_number for t in live if t.is_sla_breached(now)
    )

    for team_id, assignee_id, members in (
        (None, None, live),
        (str(desk.team), None, [t for t in live if t.team_id == desk.team]),
        (None, str(desk.agent.user_id), [t for t in live if t.assignee_id == desk.agent.user_id]),
    ):
        stats = read_side.stats(org_id, now, team_id=team_id, assignee_id=assignee_id)
        assert stats.counts.total == len(members)
        assert stats.counts.by_status == {s.value: sum(t.status == s for t in members) for s in Status}
        assert stats.counts.by_priority == {p.value: sum(t.priority == p for t in members) for p in Priority}
        assert stats.counts.by_category == {c.value: sum(t.category == c for t in members) for c in Category}
        assert stats.sla_breached == sum(t.is_sla_breached(now) for t in members)
        assert stats.sla_breached_total == sum(t.sla.ever_breached(now) for t in members)


def moments_around(desk: Desk) -> list[datetime]:
    """Times at which to count breaches: either side of every deadline and of the bucket edges near them.

    The SLA view counts "breached now" with per-span and per-day counters plus a range count
    over the current day, so a count just before, at and just after a bucket boundary or a
    deadline must still equal the aggregates' answer.
    """
    now = desk.clock()
    tick = timedelta(microseconds=1)
    moments = {now, now - timedelta(days=2), now + timedelta(days=3), now + timedelta(days=SPAN + 1)}
    watched = [t.sla.breach_watch(t.status) for t in desk.live_tickets()]
    for at in [now, *(t.sla_deadline for t in desk.live_tickets() if t.sla_deadline is not None)] + [
        w for w in watched if w is not None
    ]:
        midnight = datetime.combine(at.date(), time(), tzinfo=UTC)
        span_start = EPOCH + timedelta(days=(midnight - EPOCH).days // SPAN * SPAN)
        for moment in (
            at,
            midnight,
            midnight + timedelta(days=1),
            span_start,
            span_start + timedelta(days=SPAN),
        ):
            moments.update({moment - tick, moment, moment + tick})
    return sorted(moments)


def assert_breached_counts_at(desk: Desk, moments: list[datetime]) -> None:
    """`slaBreached` of the org, the team and the assignee equals the aggregates' at each moment."""
    read_side = read_side_of(desk.services)
    org_id = str(desk.admin.org_id)
    live = desk.live_tickets()
    scopes = (
        (None, None, live),
        (str(desk.team), None, [t for t in live if t.team_id == desk.team]),
        (None, str(desk.agent.user_id), [t for t in live if t.assignee_id == desk.agent.user_id]),
    )
    for moment in moments:
        for team_id, assignee_id, members in scopes:
            stats = read_side.stats(org_id, moment, team_id=team_id, assignee_id=assignee_id)
            assert (moment, team_id, assignee_id, stats.sla_breached, stats.sla_breached_total) == (
                moment,
                team_id,
                assignee_id,
                sum(t.is_sla_breached(moment) for t in members),
                sum(t.sla.ever_breached(moment) for t in members),
            )


def assert_rebuild_equals_live(read_side: ReadSide) -> None:
    for name in READ_MODELS:
        copy = read_side.rebuild_all([name], switch=False, batch_size=7)[name]
        try:
            assert read_side.dump(name, copy) == read_side.dump(name)
        finally:
            read_side.drop(name, copy)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=commands, batch=st.integers(1, 5), start=st.integers(0, SPAN * 24 * 60), data=st.data())
def test_read_models_equal_a_fold_and_a_rebuild(
    services: Services,
    clock: ManualClock,
    script: list[tuple[Any, ...]],
    batch: int,
    start: int,
    data: st.DataObject,
) -> None:
    read_side = read_side_of(services)
    # Start at any time of any day of a span, so deadlines fall on either side of the SLA buckets' edges.
    clock.advance(minutes=start)
    desk = Desk(services, clock, f"org-{secrets.token_hex(5)}")
    for command in script:
        desk.run(command)
        # Follow the log in small batches while commands keep coming, as the server would.
        read_side.step(data.draw(st.sampled_from(sorted(READ_MODELS))), limit=batch)
    read_side.catch_up(limit=batch)
    assert min(read_side.positions().values()) == read_side.head()
    assert_views_equal_fold(desk)
    assert_breached_counts_at(desk, moments_around(desk))
    assert_rebuild_equals_live(read_side)


class WorkerKilledError(Exception):
    """Stands in for a worker killed part-way through a batch."""


def crash_after(n: int) -> Callable[[int], None]:
    def hook(count: int) -> None:
        if count >= n:
            raise WorkerKilledError(f"killed after {n} events of the batch")

    return hook


def test_a_run_killed_mid_batch_resumes_to_the_same_views_as_a_clean_rebuild(
    services: Services, clock: ManualClock
) -> None:
    read_side = read_side_of(services)
    desk = Desk(services, clock, f"crashy-{secrets.token_hex(3)}")
    for i in range(12):
        desk.run(("create", Priority.HIGH, Category.BUG, i % 2 == 0, i % 3 == 0, i % 4 == 0))
        desk.run(("message", i, True, False))
        desk.run(("status", i, Status.PENDING if i % 2 else Status.RESOLVED))
    desk.run(("advance", 45))

    for name in READ_MODELS:
        read_side.step(name, limit=10)  # some batches commit
        before = read_side.views.position(read_side.serving_view(name))
        with pytest.raises(WorkerKilledError):
            read_side.step(name, limit=10, after_event=crash_after(4))
        # Nothing of the failed batch is left: the copy is where its last tracking record says.
        assert read_side.views.position(read_side.serving_view(name)) == before
    read_side.catch_up(limit=10)
    assert_views_equal_fold(desk)
    assert_rebuild_equals_live(read_side)


def test_a_batch_is_applied_once_even_if_two_workers_race(services: Services, clock: ManualClock) -> None:
    read_side = read_side_of(services)
    desk = Desk(services, clock, f"racy-{secrets.token_hex(3)}")
    desk.run(("create", Priority.LOW, Category.GENERAL, False, False, False))
    view = read_side.serving_view("ticket_stats")
    views = read_side.views
    # A second worker's batch starts while the first one's is still open: it is locked out
    # (PostgreSQL advisory lock) or waits and then finds the position moved (SQLite).
    with views.batch(view) as first:
        assert view.copy in first
        start = view.position_in(first[view.copy])
        if views.dialect.name == "postgres":
            second = read_side.step("ticket_stats")
            assert second.locked_out and not second.advanced
    assert views.position(view) == start
    read_side.catch_up(["ticket_stats"])
    read_side.catch_up(["ticket_stats"])
    stats = read_side.stats(str(desk.admin.org_id), clock())
    assert stats.counts.total == 1


def test_rebuild_switches_reads_to_the_new_copy_and_drops_the_old(
    services: Services, clock: ManualClock
) -> None:
    read_side = read_side_of(services)
    desk = Desk(services, clock, f"rebuilt-{secrets.token_hex(3)}")
    desk.run(("create", Priority.URGENT, Category.BILLING, True, True, True))
    read_side.catch_up()
    old = read_side.views.active_generation("ticket_list")
    progress: list[tuple[int, int, int]] = []
    new = read_side.rebuild_all(["ticket_list"], lambda *p: progress.append(p))["ticket_list"]
    assert new != old
    assert read_side.views.active_generation("ticket_list") == new
    assert [c.generation for c in read_side.views.copies("ticket_list")] == [new]
    assert progress and progress[-1][1] == read_side.head()
    desk.run(("create", Priority.LOW, Category.BUG, False, False, False))
    read_side.catch_up()
    assert_views_equal_fold(desk)
    # One serving copy per read model (the customer's side's appear once something used them).
    names = [s.name for s in read_side.status()]
    assert len(names) == len(set(names))
    assert set(READ_MODELS) <= set(names) <= set(ALL_MODELS)


def index_names(read_side: ReadSide, name: str, generation: int) -> set[str]:
    view = read_side.views.view(READ_MODELS[name], generation)
    with read_side.views.read(view) as curs:
        if read_side.views.dialect.name == "postgres":
            curs.execute(
                "SELECT indexname AS name FROM pg_indexes WHERE tablename = %s",
                (f"{view.copy.prefix}_tickets",),
            )
        else:
            curs.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        return {str(r["name"]) for r in curs.fetchall()} - {f"{view.copy.prefix}_tickets_pkey"}


def test_a_rebuilt_copy_gets_its_query_indexes_when_it_is_switched_to(
    services: Services, clock: ManualClock
) -> None:
    read_side = read_side_of(services)
    desk = Desk(services, clock, f"indexed-{secrets.token_hex(3)}")
    desk.run(("create", Priority.HIGH, Category.BUG, True, True, True))
    read_side.catch_up()
    serving = read_side.views.active_generation("ticket_list")
    assert serving is not None
    serving_indexes = index_names(read_side, "ticket_list", serving)
    assert serving_indexes
    copy = read_side.rebuild_all(["ticket_list"], switch=False)["ticket_list"]
    assert index_names(read_side, "ticket_list", copy) == set()  # built without them
    desk.run(("message", 0, True, False))
    read_side.catch_up()
    read_side.switch("ticket_list", copy)
    assert index_names(read_side, "ticket_list", copy) == {
        n.replace(f"_g{serving}_", f"_g{copy}_") for n in serving_indexes
    }
    assert_views_equal_fold(desk)


def test_copies_folded_by_another_fold_version_are_not_served(
    services: Services, clock: ManualClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose fold differs builds its own copies from the log instead of reading old rows."""
    desk = Desk(services, clock, f"upgraded-{secrets.token_hex(3)}")
    for i in range(4):
        desk.run(("create", Priority.URGENT, Category.BUG, i % 2 == 0, True, True))
    desk.run(("status", 1, Status.ON_HOLD))
    desk.run(("advance", 60 * 24))
    monkeypatch.setattr(views, "FOLD_VERSION", FOLD_VERSION - 1)
    older = build_services(Settings(database_url), clock=clock)
    try:
        # An older server built its copies, and wrote a row this fold would not write.
        older_side = read_side_of(older)
        older_side.catch_up()
        assert older_side.positions() == dict.fromkeys(READ_MODELS, older_side.head())
        stale = older_side.serving_view("ticket_list")
        with older_side.views.batch(stale) as cursors:
            cursors[stale.copy].execute(f"UPDATE {stale.copy.prefix}_tickets SET status = 'closed'")
    finally:
        older.app.close()
        assert older.read_side is not None
        older.read_side.close()
    monkeypatch.setattr(views, "FOLD_VERSION", FOLD_VERSION)
    read_side = read_side_of(services)
    read_side.catch_up()
    # Every ticket of the stale copy says closed; the served copy says what the events say.
    assert_views_equal_fold(desk)


def test_a_copy_left_behind_catches_up_alone_then_folds_with_the_others(
    services: Services, clock: ManualClock
) -> None:
    """On SQLite each copy commits on its own: a crash between two commits leaves one copy behind.

    A batch folds for the copies furthest behind and stops where the next copy is, so the
    copies converge and then move on together.
    """
    read_side = read_side_of(services)
    desk = Desk(services, clock, f"behind-{secrets.token_hex(3)}")
    for i in range(6):
        desk.run(("create", Priority.HIGH, Category.BUG, i % 2 == 0, True, i % 3 == 0))
        desk.run(("message", i, True, False))
    ahead = read_side.step("ticket_list", limit=5)  # as if the others' commits were lost
    assert ahead.advanced
    behind = read_side.step(limit=1000)
    assert behind.position == ahead.position  # the others only caught up with ticket_list
    assert read_side.positions() == dict.fromkeys(READ_MODELS, ahead.position)
    together = read_side.step(limit=1000)
    assert together.position == read_side.head()
    assert read_side.positions() == dict.fromkeys(READ_MODELS, read_side.head())
    assert_views_equal_fold(desk)
    assert_rebuild_equals_live(read_side)


def fold(app: TicketsApp, read: Callable[[Any], Any]) -> dict[str, bytes]:
    """Every live ticket's encoded summary, folded from the log's events as `read` decodes them."""
    summaries: dict[str, Any] = {}
    for notification in app.recorder.select_notifications(1, 100_000, topics=TICKET_TOPICS):
        key = str(notification.originator_id)
        summaries[key] = evolve(read(notification), summaries.get(key))
    return {key: SUMMARY_ENCODER.encode(s) for key, s in summaries.items() if s is not None}


def test_the_read_side_decodes_stored_events_as_the_librarys_mapper_does(
    services: Services, clock: ManualClock
) -> None:
    """The read side decodes stored ticket events with msgspec; the summaries equal the library's."""
    desk = Desk(services, clock, f"decoded-{secrets.token_hex(3)}")
    for i in range(6):
        desk.run(("create", Priority.URGENT, Category.BUG, i % 2 == 0, i % 3 == 0, i % 2 == 1))
        desk.run(("message", i, i % 2 == 0, False))
        desk.run(("tags", i, (i % 2 == 1, True)))
        desk.run(("status", i, Status.ON_HOLD))
        desk.run(("advance", 30))
        desk.run(("status", i, Status.OPEN if i % 2 else Status.RESOLVED))
        desk.run(("priority", i, Priority.LOW))
        desk.run(("breach", i))
    desk.run(("delete", 4))
    app = services.app
    read = TICKET_EVENTS.reader(app.mapper)
    decoded = [read(n) for n in app.recorder.select_notifications(1, 100_000, topics=TICKET_TOPICS)]
    assert decoded and not any(isinstance(event, Ticket.Event) for event in decoded)  # none by the library
    assert fold(app, read) == fold(app, app.mapper.to_domain_event)


def test_an_event_stored_by_an_older_class_version_is_upcast_by_the_library(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = Desk(services, clock, f"upcast-{secrets.token_hex(3)}")
    desk.run(("create", Priority.LOW, Category.GENERAL, False, False, False))
    services.tickets.update(desk.admin, str(desk.ticket_ids[0]), TicketChanges(subject="Paper jam"))
    # As if SubjectChanged had since moved to class version 2, whose upcaster shouts.
    monkeypatch.setattr(Ticket.SubjectChanged, "class_version", 2, raising=False)
    upcast = staticmethod(lambda state: state.update(new=state["new"].upper()))
    monkeypatch.setattr(Ticket.SubjectChanged, "upcast_v1_v2", upcast, raising=False)
    (stored,) = [
        n
        for n in services.app.recorder.select_notifications(1, 100_000, topics=TICKET_TOPICS)
        if n.topic.endswith("SubjectChanged") and n.originator_id == desk.ticket_ids[0]
    ]
    event = TICKET_EVENTS.reader(services.app.mapper)(stored)
    assert isinstance(event, Ticket.SubjectChanged)
    assert event.new == "PAPER JAM"


def test_the_event_models_decode_each_event_once_for_all_their_copies(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch serves every event-by-event model (portal, contacts, feed, inbox, ...): each event is
    read and decoded once, a copy ahead of the others skips what it has, and each reaches the head."""
    from projections.runner import EVENT_MODELS

    read_side = services.read_side
    assert read_side is not None
    desk = Desk(services, clock, f"once-{secrets.token_hex(3)}")
    for i in range(3):
        desk.run(("create", Priority.HIGH, Category.BUG, False, False, False))
        services.tickets.add_message(desk.admin, str(desk.ticket_ids[-1]), f"reply {i}", False)
    read_side.step_events()
    # The feed alone is rebuilt to the head; the others stay behind it by what comes next.
    read_side.rebuild_all(["feed"])
    services.tickets.add_message(desk.admin, str(desk.ticket_ids[0]), "later", False)
    services.tickets.add_message(desk.agent, str(desk.ticket_ids[1]), "a note", True)
    head = services.app.head_position()

    decoded: list[int] = []
    to_domain_event = services.app.mapper.to_domain_event

    def counting(stored: Any) -> Any:
        decoded.append(stored.id)
        return to_domain_event(stored)

    monkeypatch.setattr(services.app.mapper, "to_domain_event", counting)
    read_side.step_events()

    assert decoded and len(decoded) == len(set(decoded))
    assert read_side.positions(EVENT_MODELS) == dict.fromkeys(EVENT_MODELS, head)
    rows, _ = read_side.feed_page(str(desk.admin.org_id), 0, [], 1000)
    assert [r.position for r in rows] == sorted({r.position for r in rows})  # nothing applied twice


def _open_every_copy_at_once(read_sides: list[ReadSide]) -> list[BaseException]:
    """Each read side opens every read model's serving copy, all starting at one moment; the errors."""
    import threading

    start = threading.Barrier(len(read_sides))
    errors: list[BaseException] = []

    def open_all(read_side: ReadSide) -> None:
        start.wait()
        try:
            for name in ALL_MODELS:
                read_side.serving_view(name)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_all, args=(r,)) for r in read_sides]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_servers_opening_new_copies_at_once_both_get_them(postgres_url: str) -> None:
    """Two servers starting on a new database create the same read-model tables at the same moment:
    PostgreSQL refuses one of them (a unique violation, or "type ... already exists"), and that one
    finds the tables made by the other instead of failing."""
    for _ in range(3):
        settings = Settings(f"{postgres_url}?schema=race_{secrets.token_hex(4)}")
        built = [build_services(settings) for _ in range(2)]
        try:
            read_sides = [b.read_side for b in built if b.read_side is not None]
            assert len(read_sides) == 2
            assert _open_every_copy_at_once(read_sides) == []
        finally:
            for b in built:
                b.close()
