"""Trigger rules: managing them (`RuleService`) and the policy that runs them (`RuleEngine`).

The engine follows the log (the read side hands it each batch of trigger events, in log order, and
records how far it got: `projections/rule_triggers.py`). For each trigger (`domain/rules.py`
`triggers_of`) it loads the ticket and its org, and runs the org's active rules, by position, that
react to it and have not yet run for it: their conditions are checked on the ticket *as of the
trigger* (so running again decides the same), and the actions of each rule that holds are recorded
on the ticket **by the rule** (`actor_id` = the rule's id) after a `RuleRun` marker, all in one save
with the team rotations they moved. A second engine, a retry after a crash, or a rebuild finds the
markers and does nothing again: each (rule, trigger) runs exactly once. A rule is never triggered by
its own changes; a rule triggered by another rule's changes runs one level deeper, and one that would
run deeper than `MAX_DEPTH` is recorded as `stopped` with an internal note instead.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from tickets.application.actors import Actor
from tickets.application.agents import dispatch_agent
from tickets.application.app import Saved, TicketsApp, retry_on_conflict
from tickets.application.directory import DirectoryService
from tickets.application.tickets import TicketService
from tickets.domain.commands import Keep, RuleChanges, RuleSpec
from tickets.domain.errors import DomainError, InvalidValueError, NotFoundError
from tickets.domain.mentions import parse_mentions
from tickets.domain.organization import Organization
from tickets.domain.rules import (
    MAX_DEPTH,
    Action,
    Condition,
    Matcher,
    Rule,
    TeamRotation,
    Trigger,
    facts_of,
    fill_placeholders,
    triggers_of,
)
from tickets.domain.ticket import Activity, Ticket
from tickets.domain.values import Category, Priority, Role, Status
from tickets.infrastructure.clock import Clock, system_clock
from tickets.infrastructure.patterns import matches, pattern_error

logger = logging.getLogger("tickets.rules")

# Tickets whose org the engine remembers (16 bytes of ids each, twice, plus the dict's share).
TICKET_ORGS_REMEMBERED = 100_000

# (org id, member ids) -> how many open (not resolved or closed) tickets each is assigned; from the
# read side's ticket list, handed in as a parameter (the application imports nothing of the read side).
OpenCounts = Callable[[UUID, Sequence[UUID]], dict[UUID, int]]
# The `dispatch_agent` action: record on the ticket that the agent with this @handle is asked to act,
# with the instruction (ticket, org, handle, instruction, the rule's id, now).
AgentDispatch = Callable[[Ticket, Organization, str, str | None, UUID, datetime], None]


def dispatch_by_rule(
    ticket: Ticket, org: Organization, handle: str, instruction: str | None, rule_id: UUID, at: datetime
) -> None:
    """Dispatch the agent (`Ticket.AgentDispatched`, source `rule`, by the rule). A handle that names
    no agent (any more) leaves an internal note by the rule saying so, instead of failing the run."""
    try:
        dispatch_agent(org, ticket, handle, instruction or "", rule_id, source="rule", at=at)
    except NotFoundError as missing:
        ticket.add_message(
            uuid4(), rule_id, f"Could not dispatch @{handle.lstrip('@')}: {missing}", True, [], at
        )


@dataclass
class _Turns:
    """What the actions of one save have moved so far: team rotations (saved with the ticket), and the
    tickets given to each member in this run (the read side does not count them yet)."""

    rotations: dict[UUID, TeamRotation] = field(default_factory=dict)
    assigned: Counter[UUID] = field(default_factory=Counter)


class RuleEngine:
    """Runs the org's rules for trigger events; `run` is what the read side's follower calls."""

    def __init__(
        self,
        app: TicketsApp,
        clock: Clock = system_clock,
        matcher: Matcher = matches,
        open_counts: OpenCounts | None = None,
        dispatch: AgentDispatch = dispatch_by_rule,
    ) -> None:
        self.app = app
        self.clock = clock
        self.matcher = matcher
        self.open_counts = open_counts
        self.dispatch = dispatch
        self._assigned: Counter[UUID] = Counter()
        # A ticket's org never changes: known, it lets a trigger be passed over without loading the
        # ticket when its org has no rule for it (most triggers of most orgs). Bounded, oldest out.
        self._org_of_ticket: OrderedDict[UUID, UUID] = OrderedDict()
        # The orgs of the current `run`, each loaded once: for that check only, never to act on.
        self._orgs_this_run: dict[UUID, Organization] = {}

    def run(self, events: Sequence[Any]) -> int:
        """Run the rules for these trigger events (in log order); how many rules applied."""
        self._assigned = Counter()
        self._orgs_this_run = {}
        for event in events:
            if isinstance(event, Ticket.Created):
                self._remember_org(event.originator_id, event.org_id)
        applied = 0
        for trigger in triggers_of(events):
            try:
                applied += self.run_trigger(trigger)
            except DomainError as error:  # the ticket cannot take changes now: nothing to run
                logger.info("rules for %s of ticket %s: %s", trigger.kind, trigger.ticket_id, error)
        return applied

    def run_trigger(self, trigger: Trigger) -> int:
        """Run the rules that react to one trigger and have not run for it; how many applied."""
        return retry_on_conflict(lambda: self._attempt(trigger))

    def _no_rule_reacts(self, trigger: Trigger) -> bool:
        """Whether the trigger's org, as loaded once in this run, has no rule that reacts to it.

        Loaded after the run's events were read from the log, that org has every rule that can react
        to them (a rule reacts only to events after it was written); a rule removed since then is
        checked again on the org loaded to act.
        """
        org_id = self._org_of_ticket.get(trigger.ticket_id)
        if org_id is None:
            return False
        org = self._orgs_this_run.get(org_id)
        if org is None:
            org = self._orgs_this_run[org_id] = self.app.repository.get(org_id)
        return not any(
            r.reacts_to(trigger.kind, trigger.at) and r.id != trigger.actor_id for r in org.rules.values()
        )

    def _attempt(self, trigger: Trigger) -> int:
        if self._no_rule_reacts(trigger):
            return 0
        ticket = self._ticket(trigger.ticket_id)
        if ticket is None or ticket.deleted or ticket.status == Status.CLOSED:
            return 0
        self._remember_org(ticket.id, ticket.org_id)
        org: Organization = self.app.repository.get(ticket.org_id)
        rules = [
            r
            for r in org.ordered_rules()
            if r.reacts_to(trigger.kind, trigger.at)
            and r.id != trigger.actor_id  # never on its own changes
            and not ticket.rule_ran(r.id, trigger.first_version)
        ]
        if not rules:
            return 0
        then = ticket
        if ticket.version != trigger.last_version:
            then = self.app.repository.get(ticket.id, version=trigger.last_version)
        depth = then.trigger_depth(trigger.actor_id)
        if depth > MAX_DEPTH:
            return 0
        facts = facts_of(then, trigger)
        now = self.clock()
        turns, applied = _Turns(assigned=self._assigned), 0
        for rule in rules:
            if not rule.holds(facts, self.matcher):
                continue
            if depth == MAX_DEPTH:
                reason = f"a chain of rules stops at depth {MAX_DEPTH}"
                ticket.record_rule_run(rule.id, trigger.first_version, depth + 1, "stopped", reason, now)
                note = f"Rule '{rule.name}' was not run for this {trigger.kind}: {reason}."
                ticket.add_message(uuid4(), rule.id, note, True, [], now)
                continue
            trial, trial_turns = copy.deepcopy(ticket), copy.deepcopy(turns)
            try:
                trial.record_rule_run(rule.id, trigger.first_version, depth + 1, "applied", None, now)
                self.act(trial, org, rule, now, trial_turns)
            except DomainError as error:
                ticket.record_rule_run(rule.id, trigger.first_version, depth + 1, "failed", str(error), now)
            else:
                ticket, turns, applied = trial, trial_turns, applied + 1
        self.app.save(ticket, *turns.rotations.values())
        self._assigned = turns.assigned
        return applied

    def _remember_org(self, ticket_id: UUID, org_id: UUID) -> None:
        self._org_of_ticket[ticket_id] = org_id
        self._org_of_ticket.move_to_end(ticket_id)
        if len(self._org_of_ticket) > TICKET_ORGS_REMEMBERED:
            self._org_of_ticket.popitem(last=False)

    def _ticket(self, ticket_id: UUID) -> Ticket | None:
        try:
            ticket: object = self.app.repository.get(ticket_id)
        except AggregateNotFoundError:
            return None
        return ticket if isinstance(ticket, Ticket) else None

    # ------------------------------------------------------------------ actions

    def act(self, ticket: Ticket, org: Organization, rule: Rule, now: datetime, turns: _Turns) -> None:
        """Record the rule's actions on the ticket, by the rule; a DomainError if one cannot apply."""
        for action in rule.actions:
            self._ACTIONS[action.type](self, ticket, org, action, rule.id, now, turns)

    def _set_priority(
        self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns
    ) -> None:
        priority = Priority(str(a.value))
        t.change_priority(priority, org.sla_targets_for(priority, t.team_id), who, now)

    def _set_category(
        self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns
    ) -> None:
        t.change_category(Category(str(a.value)), who, now)

    def _set_status(
        self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns
    ) -> None:
        t.change_status(Status(str(a.value)), who, now)

    def _set_team(self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns) -> None:
        org.require_team(a.team_id)
        t.change_team(a.team_id, org.sla_targets_for(t.priority, a.team_id), who, now)

    def _assign(self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns) -> None:
        if a.user_id is None or not org.is_member(a.user_id):
            raise InvalidValueError(f"user {a.user_id} is not a member of this org")
        t.assign(a.user_id, who, now)

    def _members(self, org: Organization, team_id: UUID | None) -> tuple[UUID, ...]:
        if team_id is None:
            raise InvalidValueError("no team given")
        team = org.team(team_id)
        if not team.member_ids:
            raise InvalidValueError(f"team {team.name!r} has no members to assign to")
        return team.member_ids

    def _round_robin(
        self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, turns: _Turns
    ) -> None:
        members = self._members(org, a.team_id)
        assert a.team_id is not None
        rotation = turns.rotations.get(a.team_id)
        if rotation is None:
            try:
                rotation = self.app.repository.get(TeamRotation.create_id(a.team_id))
            except AggregateNotFoundError:
                rotation = TeamRotation(team_id=a.team_id, timestamp=now)
            turns.rotations[a.team_id] = rotation
        member = rotation.next_of(members)
        assert member is not None
        rotation.advance(member, timestamp=now)
        t.assign(member, who, now)
        turns.assigned[member] += 1

    def _least_busy(
        self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, turns: _Turns
    ) -> None:
        members = self._members(org, a.team_id)
        counts = self.open_counts(org.id, members) if self.open_counts is not None else {}
        # Ties go to the member who joined the team first.
        load = {m: counts.get(m, 0) + turns.assigned[m] - (1 if t.assignee_id == m else 0) for m in members}
        member = min(members, key=lambda m: (load[m], members.index(m)))
        if member != t.assignee_id:
            turns.assigned[member] += 1
        t.assign(member, who, now)

    def _add_tag(self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns) -> None:
        assert a.tag_id is not None
        org.require_tags([a.tag_id])
        t.set_tags([*t.tag_ids, a.tag_id], who, now)

    def _remove_tag(
        self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns
    ) -> None:
        t.set_tags([tag for tag in t.tag_ids if tag != a.tag_id], who, now)

    def _add_note(self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns) -> None:
        text = a.text or ""
        t.add_message(uuid4(), who, text, True, parse_mentions(text, org.members_by_handle()), now)

    def _reply(self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns) -> None:
        assert a.canned_response_id is not None
        canned = org.canned_response(a.canned_response_id)
        t.add_message(uuid4(), who, fill_placeholders(canned.body, placeholders(t, org)), False, [], now)

    def _dispatch(self, t: Ticket, org: Organization, a: Action, who: UUID, now: datetime, _: _Turns) -> None:
        self.dispatch(t, org, a.agent or "", a.text, who, now)

    _ACTIONS: dict[
        str, Callable[[RuleEngine, Ticket, Organization, Action, UUID, datetime, _Turns], None]
    ] = {
        "set_priority": _set_priority,
        "set_category": _set_category,
        "set_status": _set_status,
        "set_team": _set_team,
        "assign": _assign,
        "assign_round_robin": _round_robin,
        "assign_least_busy": _least_busy,
        "add_tag": _add_tag,
        "remove_tag": _remove_tag,
        "add_note": _add_note,
        "reply": _reply,
        "dispatch_agent": _dispatch,
    }


def placeholders(ticket: Ticket, org: Organization) -> dict[str, str]:
    """What a canned reply's `{{ticket.number}}`, `{{contact.name}}` and `{{agent.name}}` stand for."""
    assignee = org.members.get(str(ticket.assignee_id)) if ticket.assignee_id else None
    return {
        "ticket.number": str(ticket.ticket_number),
        "contact.name": ticket.contact_name or ticket.contact_email or "",
        "agent.name": assignee.name if assignee is not None else org.name,
    }


# ---------------------------------------------------------------------------- managing rules


@dataclass(frozen=True)
class ConditionResult:
    group: str  # "all" or "any"
    condition: Condition
    holds: bool


@dataclass(frozen=True)
class DryRun:
    """What a rule would do to a ticket now: which conditions hold, and the changes its actions would
    record (whether or not the conditions hold), or why they could not apply."""

    rule: Rule
    ticket: Ticket
    org: Organization
    conditions: list[ConditionResult]
    matched: bool
    changes: list[Activity]
    error: str | None


def _check_patterns(spec: RuleSpec) -> None:
    for group, conditions in (("all", spec.all_of), ("any", spec.any_of)):
        for i, condition in enumerate(conditions):
            if condition.op == "matches" and isinstance(condition.value, str):
                error = pattern_error(condition.value)
                if error is not None:
                    raise InvalidValueError(f"conditions.{group}[{i}].value: {error}")


def _kept(value: Any, current: Any) -> Any:
    return current if isinstance(value, Keep) else value


class RuleService:
    """An org's trigger rules (admins), and dry runs."""

    def __init__(self, directory: DirectoryService, tickets: TicketService, engine: RuleEngine) -> None:
        self.directory = directory
        self.tickets = tickets
        self.engine = engine
        self.clock = directory.clock

    def rules(self, actor: Actor) -> list[Rule]:
        actor.require(Role.ADMIN)
        return self.directory.org(actor.org_id).ordered_rules()

    def rule(self, actor: Actor, rule_id: UUID) -> Rule:
        actor.require(Role.ADMIN)
        return self.directory.org(actor.org_id).rule(rule_id)

    def _draft(self, rule_id: UUID, spec: RuleSpec) -> Rule:
        _check_patterns(spec)
        return Rule(
            id=rule_id,
            name=spec.name,
            on=tuple(spec.on),
            all_of=tuple(spec.all_of),
            any_of=tuple(spec.any_of),
            actions=tuple(spec.actions),
            active=spec.active,
            position=spec.position,
            since=self.clock(),
        )

    def create_rule(self, actor: Actor, spec: RuleSpec) -> Saved[Rule]:
        actor.require(Role.ADMIN)
        draft = self._draft(uuid4(), spec)
        return self.directory.change_org(actor, lambda org, now: org.create_rule(draft, actor.user_id, now))

    def update_rule(self, actor: Actor, rule_id: UUID, changes: RuleChanges) -> Saved[Rule]:
        actor.require(Role.ADMIN)

        def change(org: Organization, now: datetime) -> Rule:
            current = org.rule(rule_id)
            spec = RuleSpec(
                name=_kept(changes.name, current.name),
                on=_kept(changes.on, list(current.on)),
                actions=_kept(changes.actions, list(current.actions)),
                all_of=_kept(changes.all_of, list(current.all_of)),
                any_of=_kept(changes.any_of, list(current.any_of)),
                active=_kept(changes.active, current.active),
                position=_kept(changes.position, current.position),
            )
            return org.replace_rule(replace(self._draft(rule_id, spec), since=now), actor.user_id, now)

        return self.directory.change_org(actor, change)

    def delete_rule(self, actor: Actor, rule_id: UUID) -> Saved[None]:
        actor.require(Role.ADMIN)
        return self.directory.change_org(actor, lambda org, now: org.delete_rule(rule_id, actor.user_id, now))

    def dry_run(self, actor: Actor, rule_id: UUID, ticket_ref: str) -> DryRun:
        """What the rule would do to the ticket now, as if the event it reacts to had just happened
        (with the latest message as `content`, and no changes); nothing is saved."""
        rule = self.rule(actor, rule_id)
        ticket = self.tickets.get(actor, ticket_ref)
        org = self.directory.org(actor.org_id)
        thread = ticket.visible_messages()
        facts = facts_of(ticket, content=thread[-1].content if thread else None)
        results = [
            ConditionResult(group, c, c.holds(facts, self.engine.matcher))
            for group, conditions in (("all", rule.all_of), ("any", rule.any_of))
            for c in conditions
        ]
        trial, error = copy.deepcopy(ticket), None
        try:
            self.engine.act(trial, org, rule, self.clock(), _Turns())
        except DomainError as failure:
            error = str(failure)
        changes = [e.activity() for e in trial.collect_events() if isinstance(e, Ticket.Event)]
        return DryRun(rule, ticket, org, results, rule.holds(facts, self.engine.matcher), changes, error)


__all__ = [
    "AgentDispatch",
    "ConditionResult",
    "DryRun",
    "OpenCounts",
    "RuleEngine",
    "RuleService",
    "dispatch_by_rule",
    "placeholders",
]
