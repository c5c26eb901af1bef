"""Organization v4 (team members, rules) and a ticket's rule runs come back from a snapshot as they were."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tickets.application.actors import Actor
from tickets.bootstrap import in_memory
from tickets.domain.commands import NewTicket, RuleSpec
from tickets.domain.rules import Action, Condition
from tickets.domain.values import Role
from tickets.infrastructure.clock import ManualClock


def _round_trip(app: Any, aggregate: Any) -> Any:
    snapshot = type(aggregate).Snapshot.take(aggregate)
    return app.mapper.to_domain_event(app.mapper.to_stored_event(snapshot)).mutate(None)


def test_an_org_with_team_members_and_rules_and_a_ticket_they_ran_on_round_trip() -> None:
    services = in_memory(ManualClock())
    created = services.directory.create_org("acme", "Acme", "ann@acme.test", "Ann")
    admin = Actor(created.user_id, created.org_id, Role.ADMIN)
    team = services.directory.create_team(admin, "Tier 1", "").value
    services.directory.add_team_member(admin, team.id, created.user_id)
    spec = RuleSpec(
        name="urgent",
        on=["ticket.created"],
        all_of=[Condition("priority", "in", ["medium", "urgent"]), Condition("teamId", "is", None)],
        actions=[Action("assign_round_robin", team_id=team.id), Action("add_note", text="{{ticket.number}}")],
    )
    services.rules.create_rule(admin, spec)
    ticket_id = services.tickets.create(admin, NewTicket(subject="Help")).value.id
    events = [
        services.app.mapper.to_domain_event(n) for n in services.app.recorder.select_notifications(1, 1000)
    ]
    assert services.rule_engine.run(events) == 1

    org = services.directory.org(created.org_id)
    restored = _round_trip(services.app, org)
    assert restored.__dict__ == org.__dict__
    assert isinstance(restored.teams[str(team.id)].member_ids, tuple)
    assert isinstance(next(iter(restored.rules.values())).all_of[0], Condition)
    ticket = services.app.repository.get(ticket_id)
    again = _round_trip(services.app, ticket)
    assert again.rule_runs == ticket.rule_runs and isinstance(again.rule_actor, UUID)
    assert again.assignee_id == created.user_id
