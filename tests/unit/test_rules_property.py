"""A property: random rule sets over random ticket histories settle, and each (rule, trigger) runs once.

On the in-memory store, the engine is handed the log's new trigger events round after round (as the
read side's follower does) until a round adds nothing. Then, for every trigger in the log, the rules
that react to it and whose conditions held at it ran exactly once (`applied`, `failed`, or `stopped`
when the chain was too deep), no other rule ran for it, and handing the engine the whole log again
runs nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tickets.application.actors import Actor
from tickets.bootstrap import Services, in_memory
from tickets.domain.commands import NewTicket, RuleSpec, TicketChanges
from tickets.domain.rules import MAX_DEPTH, RULE_ENGINE_EVENT_TYPES, Action, Condition, facts_of, triggers_of
from tickets.domain.ticket import Ticket
from tickets.domain.values import Priority, Role, Status
from tickets.infrastructure.clock import ManualClock
from tickets.infrastructure.patterns import matches

TOPICS = tuple(f"{c.__module__}:{c.__qualname__}" for c in RULE_ENGINE_EVENT_TYPES)

conditions = st.sampled_from(
    [
        Condition("priority", "is", "urgent"),
        Condition("priority", "in", ["high", "urgent"]),
        Condition("status", "is_not", "resolved"),
        Condition("subject", "contains", "help"),
        Condition("subject", "matches", "^[a-z]+$"),
        Condition("tags", "contains", "TAG"),
        Condition("priority", "changed"),
        Condition("status", "changed_to", "pending"),
        Condition("content", "contains", "ping"),
    ]
)
actions = st.sampled_from(
    [
        Action("set_priority", "urgent"),
        Action("set_priority", "low"),
        Action("set_status", "pending"),
        Action("set_status", "open"),
        Action("add_tag", tag_id=UUID(int=1)),
        Action("remove_tag", tag_id=UUID(int=1)),
        Action("add_note", text="ping"),
        Action("assign_round_robin", team_id=UUID(int=2)),
    ]
)
rule_specs = st.lists(
    st.tuples(
        st.lists(
            st.sampled_from(["ticket.created", "ticket.updated", "message.added", "note.added"]), min_size=1
        ),
        st.lists(conditions, max_size=2),
        st.lists(conditions, max_size=2),
        st.lists(actions, min_size=1, max_size=3),
    ),
    min_size=1,
    max_size=4,
)
steps = st.lists(
    st.sampled_from(["create", "urgent", "low", "pending", "message", "note", "tag"]), min_size=1, max_size=8
)


def _setup(services: Services) -> tuple[Actor, UUID, UUID]:
    created = services.directory.create_org("acme", "Acme", "ann@acme.test", "Ann")
    admin = Actor(created.user_id, created.org_id, Role.ADMIN)
    team = services.directory.create_team(admin, "Tier 1", "").value
    services.directory.add_team_member(admin, team.id, created.user_id)
    bob = services.directory.create_user(created.org_id, "bob@acme.test", "Bob", Role.AGENT)
    services.directory.add_team_member(admin, team.id, bob.user_id)
    tag = services.directory.create_tag(admin, "vip", "#000000", None).value
    return admin, team.id, tag.id


def _swap(action: Action, team_id: UUID, tag_id: UUID) -> Action:
    if action.tag_id is not None:
        return Action(action.type, tag_id=tag_id)
    if action.team_id is not None:
        return Action(action.type, team_id=team_id)
    return action


def _events(services: Services, after: int) -> tuple[list[Any], int]:
    app = services.app
    found = app.recorder.select_notifications(after + 1, 100_000, topics=TOPICS)
    return [app.mapper.to_domain_event(n) for n in found], (found[-1].id if found else after)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_specs, steps)
def test_random_rules_settle_and_run_once_per_trigger(specs: list[Any], plan: list[str]) -> None:
    clock = ManualClock()
    services = in_memory(clock)
    admin, team_id, tag_id = _setup(services)
    for i, (on, all_of, any_of, acts) in enumerate(specs):
        fix = [Condition(c.field, c.op, str(tag_id)) if c.value == "TAG" else c for c in all_of + any_of]
        spec = RuleSpec(
            name=f"r{i}",
            on=on,
            all_of=fix[: len(all_of)],
            any_of=fix[len(all_of) :],
            actions=[_swap(a, team_id, tag_id) for a in acts],
        )
        if any(c.op in ("changed", "changed_to") for c in fix) and "ticket.updated" not in on:
            spec = RuleSpec(spec.name, [*on, "ticket.updated"], spec.actions, spec.all_of, spec.any_of)
        if any(c.field == "content" for c in fix) and not {"message.added", "note.added"} & set(spec.on):
            spec = RuleSpec(spec.name, [*spec.on, "note.added"], spec.actions, spec.all_of, spec.any_of)
        services.rules.create_rule(admin, spec)
    tickets: list[str] = []
    for step in plan:
        clock.advance(seconds=1)
        if step == "create" or not tickets:
            tickets.append(str(services.tickets.create(admin, NewTicket(subject="help me")).value.id))
            continue
        ref = tickets[-1]
        if services.tickets.get(admin, ref).status == Status.CLOSED:
            continue
        if step in ("urgent", "low"):
            services.tickets.update(admin, ref, TicketChanges(priority=Priority(step)))
        elif step == "pending":
            services.tickets.update(admin, ref, TicketChanges(status=Status.PENDING))
        elif step == "tag":
            services.tickets.update(admin, ref, TicketChanges(tag_ids=[tag_id]))
        else:
            services.tickets.add_message(admin, ref, "ping pong", step == "note")

    position, rounds = 0, 0
    while True:
        events, position = _events(services, position)
        if not events:
            break
        rounds += 1
        assert rounds <= 3 * (MAX_DEPTH + 2), "the rules did not settle"
        services.rule_engine.run(events)

    everything, _ = _events(services, 0)
    org = services.directory.org(admin.org_id)
    for trigger in triggers_of(everything):
        ticket: Ticket = services.app.repository.get(trigger.ticket_id)
        then: Ticket = services.app.repository.get(trigger.ticket_id, version=trigger.last_version)
        depth = then.trigger_depth(trigger.actor_id)
        facts = facts_of(then, trigger)
        for rule in org.ordered_rules():
            expected = (
                depth <= MAX_DEPTH
                and rule.reacts_to(trigger.kind, trigger.at)
                and rule.id != trigger.actor_id
                and rule.holds(facts, matches)
            )
            ran = ticket.rule_ran(rule.id, trigger.first_version)
            assert ran == expected, (rule.name, trigger.kind, depth)
            if ran and depth == MAX_DEPTH:
                assert ticket.rule_runs[f"{rule.id}:{trigger.first_version}"] == "stopped"
    for ticket_id in tickets:
        runs = [e for e in services.app.events.get(UUID(ticket_id)) if isinstance(e, Ticket.RuleRun)]
        assert len({(e.rule_id, e.trigger_version) for e in runs}) == len(runs)
        event(
            f"{'some' if runs else 'no'} rule runs; {'a chain stopped' if any(e.outcome == 'stopped' for e in runs) else 'no chain stopped'}"
        )
    assert services.rule_engine.run(everything) == 0
