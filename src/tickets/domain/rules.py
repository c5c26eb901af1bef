"""Trigger rules: when a ticket event happens, check conditions on the ticket, then act as the rule.

A rule is data an admin writes: the events it reacts to (`on`), conditions (`all_of` must all hold,
and one of `any_of` when there are any) and actions. This module is the rules' vocabulary: what may
be written (`check_condition`, `check_action`: a precise message for anything unknown), what a
condition means (`Condition.holds` over `Facts`), which log events are triggers and how they group
into one (`triggers_of`), and the round-robin position of each team (`TeamRotation`). Carrying out
the actions needs the org and the store: `application/rules.py`.

Conditions and actions name fields as the API does (`teamId`, `contactEmail`): they are values
admins write, in YAML too, not attribute names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from tickets.domain.errors import InvalidValueError
from tickets.domain.registry import NAMESPACE
from tickets.domain.snapshots import TypedAggregate
from tickets.domain.ticket import Ticket
from tickets.domain.values import Category, Priority, Source, Status

# ---------------------------------------------------------------------------- the vocabulary

# `issue.done`: an engineering issue linked to the ticket reached done (docs/issues.md), so a rule can
# tell the contact that a fix shipped.
TRIGGERS: tuple[str, ...] = ("ticket.created", "ticket.updated", "message.added", "note.added", "issue.done")

# A rule triggered by a rule's change runs one level deeper; a rule that would run deeper than this
# is not run, and the ticket gets an internal note saying why (so a loop of rules ends).
MAX_DEPTH = 3

TEXT_FIELDS = ("subject", "description", "content", "contactEmail")
ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in Status),
    "priority": tuple(p.value for p in Priority),
    "category": tuple(c.value for c in Category),
    "source": tuple(s.value for s in Source),
}
ID_FIELDS = ("teamId", "assigneeId")
FIELDS: tuple[str, ...] = (*TEXT_FIELDS, *ENUM_FIELDS, *ID_FIELDS, "tags")
# The fields an update can change (the `changed` and `changed_to` ops); `content` belongs to a message.
CHANGEABLE: tuple[str, ...] = tuple(f for f in FIELDS if f not in ("content", "source"))

TEXT_OPS = ("is", "is_not", "in", "contains", "not_contains", "matches", "starts_with", "ends_with")
VALUE_OPS = ("is", "is_not", "in")
CHANGE_OPS = ("changed", "changed_to")
OPS: tuple[str, ...] = (*TEXT_OPS, *CHANGE_OPS)

# The longest text value a condition may hold, and the most values an `in` may list.
MAX_VALUE_LENGTH = 1000
MAX_IN_VALUES = 100


def ops_for(field_name: str) -> tuple[str, ...]:
    """The ops a condition on this field may use."""
    if field_name in TEXT_FIELDS:
        base: tuple[str, ...] = TEXT_OPS
    elif field_name == "tags":
        base = ("contains", "not_contains")
    else:
        base = VALUE_OPS
    return base + (CHANGE_OPS if field_name in CHANGEABLE else ())


# (pattern, text) -> whether the pattern matches somewhere in the text, within a time limit (a pattern
# that runs out of time does not match). The infrastructure provides it (`infrastructure/patterns.py`).
Matcher = Callable[[str, str], bool]


@dataclass(frozen=True)
class Facts:
    """What conditions look at: the ticket's fields as of the trigger (by condition field name; tags as
    a tuple of ids), and for an update the fields it changed, `field -> (old, new)` (tags: (removed,
    added))."""

    values: dict[str, Any]
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Condition:
    """`{field, op, value}`: one test of a ticket. Text comparisons ignore case; `matches` is a regular
    expression searched in the text (`(?i)` for no case); ids compare as ids, `null` meaning none."""

    field: str
    op: str
    value: Any = None

    def holds(self, facts: Facts, matcher: Matcher) -> bool:
        if self.op in CHANGE_OPS:
            change = facts.changes.get(self.field)
            if change is None:
                return False
            if self.op == "changed":
                return True
            if self.field == "tags":
                return self.value in change[1]
            return _same(self.field, change[1], self.value)
        current = facts.values.get(self.field)
        if self.field == "tags":
            has = self.value in (current or ())
            return has if self.op == "contains" else not has
        if self.op == "is":
            return _same(self.field, current, self.value)
        if self.op == "is_not":
            return not _same(self.field, current, self.value)
        if self.op == "in":
            return any(_same(self.field, current, v) for v in self.value)
        text, value = _text(current), _text(self.value)
        if self.op == "matches":
            return matcher(value, text)
        text, value = text.casefold(), value.casefold()
        if self.op == "contains":
            return value in text
        if self.op == "not_contains":
            return value not in text
        if self.op == "starts_with":
            return text.startswith(value)
        return text.endswith(value)  # ends_with

    def definition(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value}


def _same(field_name: str, current: Any, value: Any) -> bool:
    if current is None or value is None:
        return current is None and value is None
    if field_name in TEXT_FIELDS:
        return _text(current).casefold() == _text(value).casefold()
    return str(current) == str(value)


def _uuid_text(where: str, value: Any) -> str:
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise InvalidValueError(f"{where}: {value!r} is not an id (a UUID)") from None


def check_condition(condition: Condition, where: str) -> Condition:
    """The condition as stored (ids written canonically), or InvalidValueError saying what is wrong."""
    name, op, value = condition.field, condition.op, condition.value
    if name not in FIELDS:
        raise InvalidValueError(f"{where}: unknown field {name!r}; choose from {', '.join(FIELDS)}")
    allowed = ops_for(name)
    if op not in allowed:
        known = "" if op in OPS else " (unknown op)"
        raise InvalidValueError(
            f"{where}: {name} takes no op {op!r}{known}; choose from {', '.join(allowed)}"
        )
    if op == "changed":
        if value is not None:
            raise InvalidValueError(f"{where}: op changed takes no value")
        return condition
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise InvalidValueError(f"{where}: op in takes a list of 1 to {MAX_IN_VALUES} values")
        return Condition(name, op, [_one_value(name, v, f"{where}.value[{i}]") for i, v in enumerate(value)])
    if isinstance(value, list):
        raise InvalidValueError(f"{where}: op {op} takes one value, not a list")
    if value is None and not (name in ID_FIELDS and op in ("is", "is_not", "changed_to")):
        raise InvalidValueError(f"{where}: op {op} needs a value")
    checked = None if value is None else _one_value(name, value, f"{where}.value")
    if op == "matches":
        if not checked:
            raise InvalidValueError(f"{where}: op matches needs a pattern")
    elif op in ("contains", "not_contains", "starts_with", "ends_with") and not checked:
        raise InvalidValueError(f"{where}: op {op} needs a non-empty value")
    return Condition(name, op, checked)


def _one_value(name: str, value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidValueError(f"{where}: expected a string, got {type(value).__name__}")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidValueError(f"{where}: at most {MAX_VALUE_LENGTH} characters")
    if name in ENUM_FIELDS and value not in ENUM_FIELDS[name]:
        raise InvalidValueError(
            f"{where}: {value!r} is no {name}; choose from {', '.join(ENUM_FIELDS[name])}"
        )
    if name in ID_FIELDS or name == "tags":
        return _uuid_text(where, value)
    return value


# ---------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Action:
    """One thing a rule does. `type` says which, and which one of the other fields it takes."""

    type: str
    value: str | None = None
    team_id: UUID | None = None
    user_id: UUID | None = None
    tag_id: UUID | None = None
    canned_response_id: UUID | None = None
    text: str | None = None
    agent: str | None = None

    def definition(self) -> dict[str, Any]:
        return {
            "type": self.type,
            **{name: getattr(self, name) for name in PARAMS if getattr(self, name) is not None},
        }


# Each action type -> the parameters it takes (required, except `text` of dispatch_agent).
ACTION_PARAMS: dict[str, tuple[str, ...]] = {
    "set_priority": ("value",),
    "set_category": ("value",),
    "set_status": ("value",),
    "set_team": ("team_id",),
    "assign": ("user_id",),
    "assign_round_robin": ("team_id",),
    "assign_least_busy": ("team_id",),
    "add_tag": ("tag_id",),
    "remove_tag": ("tag_id",),
    "add_note": ("text",),
    "reply": ("canned_response_id",),
    "dispatch_agent": ("agent", "text"),
}
ACTION_TYPES: tuple[str, ...] = tuple(ACTION_PARAMS)
PARAMS = ("value", "team_id", "user_id", "tag_id", "canned_response_id", "text", "agent")
# As the API and YAML spell them.
PARAM_NAMES = {
    "value": "value",
    "team_id": "teamId",
    "user_id": "userId",
    "tag_id": "tagId",
    "canned_response_id": "cannedResponseId",
    "text": "text",
    "agent": "agent",
}
_ACTION_VALUES = {"set_priority": "priority", "set_category": "category", "set_status": "status"}
MAX_TEXT_LENGTH = 65_536


def check_action(action: Action, where: str) -> Action:
    """The action as stored, or InvalidValueError saying what is wrong (ids are checked by the org)."""
    if action.type not in ACTION_PARAMS:
        raise InvalidValueError(
            f"{where}: unknown action type {action.type!r}; choose from {', '.join(ACTION_TYPES)}"
        )
    takes = ACTION_PARAMS[action.type]
    extra = [PARAM_NAMES[p] for p in PARAMS if p not in takes and getattr(action, p) is not None]
    if extra:
        wanted = " and ".join(PARAM_NAMES[p] for p in takes)
        raise InvalidValueError(f"{where}: {action.type} takes {wanted}, not {', '.join(extra)}")
    optional = {"text"} if action.type == "dispatch_agent" else set()
    for param in takes:
        if param not in optional and getattr(action, param) in (None, ""):
            raise InvalidValueError(f"{where}: {action.type} needs {PARAM_NAMES[param]}")
    if action.type in _ACTION_VALUES:
        kind = _ACTION_VALUES[action.type]
        if action.value not in ENUM_FIELDS[kind]:
            raise InvalidValueError(
                f"{where}.value: {action.value!r} is no {kind}; choose from {', '.join(ENUM_FIELDS[kind])}"
            )
    if action.text is not None and len(action.text) > MAX_TEXT_LENGTH:
        raise InvalidValueError(f"{where}.text: at most {MAX_TEXT_LENGTH} characters")
    if action.agent is not None:
        handle = action.agent.strip().lstrip("@").lower()
        if not handle or len(handle) > 64 or not all(c.isalnum() or c in "._-" for c in handle):
            raise InvalidValueError(f"{where}.agent: {action.agent!r} is not an @handle")
        return Action(action.type, agent=handle, text=action.text)
    return action


# ---------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    """A trigger rule of an org. It reacts to trigger events at or after `since` (when it was created,
    changed or switched on), never to older ones."""

    id: UUID
    name: str
    on: tuple[str, ...]
    all_of: tuple[Condition, ...]
    any_of: tuple[Condition, ...]
    actions: tuple[Action, ...]
    active: bool
    position: int
    since: datetime

    def holds(self, facts: Facts, matcher: Matcher) -> bool:
        """Whether every `all_of` condition holds, and one of `any_of` if it has any."""
        if not all(c.holds(facts, matcher) for c in self.all_of):
            return False
        return not self.any_of or any(c.holds(facts, matcher) for c in self.any_of)

    def reacts_to(self, kind: str, at: datetime) -> bool:
        return self.active and kind in self.on and at >= self.since

    def definition(self) -> dict[str, Any]:
        """What its events record: plain JSON values (ids as strings)."""
        return {
            "name": self.name,
            "on": list(self.on),
            "all_of": [c.definition() for c in self.all_of],
            "any_of": [c.definition() for c in self.any_of],
            "actions": [
                {k: str(v) if isinstance(v, UUID) else v for k, v in a.definition().items()}
                for a in self.actions
            ],
            "active": self.active,
            "position": self.position,
        }

    @classmethod
    def from_definition(cls, rule_id: UUID, definition: dict[str, Any], since: datetime) -> Rule:
        def action(data: dict[str, Any]) -> Action:
            ids = {k: UUID(v) for k, v in data.items() if k.endswith("_id") and v is not None}
            return Action(**{**data, **ids})

        return cls(
            id=rule_id,
            name=definition["name"],
            on=tuple(definition["on"]),
            all_of=tuple(Condition(**c) for c in definition["all_of"]),
            any_of=tuple(Condition(**c) for c in definition["any_of"]),
            actions=tuple(action(a) for a in definition["actions"]),
            active=definition["active"],
            position=definition["position"],
            since=since,
        )

    def reads_content(self) -> bool:
        return any(c.field == "content" for c in (*self.all_of, *self.any_of))


MAX_CONDITIONS = 50
MAX_ACTIONS = 20
POSITION_RANGE = range(1_000_001)


def check_rule(rule: Rule) -> Rule:
    """The rule as stored, its conditions and actions checked, or InvalidValueError."""
    name = rule.name.strip()
    if not name or len(name) > 200:
        raise InvalidValueError("name: 1 to 200 characters, not blank")
    if not rule.on:
        raise InvalidValueError(f"on: name at least one of {', '.join(TRIGGERS)}")
    for i, kind in enumerate(rule.on):
        if kind not in TRIGGERS:
            raise InvalidValueError(f"on[{i}]: unknown event {kind!r}; choose from {', '.join(TRIGGERS)}")
    on = tuple(dict.fromkeys(rule.on))
    if rule.position not in POSITION_RANGE:
        raise InvalidValueError("position: from 0 to 1000000")
    if len(rule.all_of) > MAX_CONDITIONS or len(rule.any_of) > MAX_CONDITIONS:
        raise InvalidValueError(f"conditions: at most {MAX_CONDITIONS} in all and in any")
    if not rule.actions or len(rule.actions) > MAX_ACTIONS:
        raise InvalidValueError(f"actions: 1 to {MAX_ACTIONS} actions")
    all_of = tuple(check_condition(c, f"conditions.all[{i}]") for i, c in enumerate(rule.all_of))
    any_of = tuple(check_condition(c, f"conditions.any[{i}]") for i, c in enumerate(rule.any_of))
    for where, condition in [*(("all", c) for c in all_of), *(("any", c) for c in any_of)]:
        if condition.op in CHANGE_OPS and "ticket.updated" not in on:
            raise InvalidValueError(
                f"conditions.{where}: op {condition.op} looks at an update: add ticket.updated to on"
            )
        if condition.field == "content" and not {"message.added", "note.added"} & set(on):
            raise InvalidValueError(
                f"conditions.{where}: field content is a message's: add message.added or note.added to on"
            )
    actions = tuple(check_action(a, f"actions[{i}]") for i, a in enumerate(rule.actions))
    return Rule(rule.id, name, on, all_of, any_of, actions, rule.active, rule.position, rule.since)


def rule_order(rule: Rule) -> tuple[str, ...]:
    """Rules run, and are listed, by position, then name (a total order: the id breaks ties)."""
    return (f"{rule.position:07d}", rule.name.lower(), str(rule.id))


# ---------------------------------------------------------------------------- triggers


@dataclass(frozen=True)
class Trigger:
    """A ticket event rules may react to: the events one actor recorded on a ticket together (one
    save: same time, same actor), from version `first_version` to `last_version`."""

    kind: str
    ticket_id: UUID
    first_version: int
    last_version: int
    actor_id: UUID | None
    at: datetime
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    content: str | None = None


def _id_text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


# Each field-change event -> the field it changes and its (old, new) values.
_CHANGES: dict[type[Ticket.Event], Callable[[Any], tuple[str, Any, Any]]] = {
    Ticket.SubjectChanged: lambda e: ("subject", e.old, e.new),
    Ticket.DescriptionChanged: lambda e: ("description", e.old, e.new),
    Ticket.StatusChanged: lambda e: ("status", e.old, e.new),
    Ticket.PriorityChanged: lambda e: ("priority", e.old, e.new),
    Ticket.CategoryChanged: lambda e: ("category", e.old, e.new),
    Ticket.TeamChanged: lambda e: ("teamId", _id_text(e.old), _id_text(e.new)),
    Ticket.Assigned: lambda e: ("assigneeId", _id_text(e.old), _id_text(e.new)),
    Ticket.ContactChanged: lambda e: ("contactEmail", e.old_email, e.email),
}
_MESSAGES: dict[type[Ticket.Event], str] = {
    Ticket.MessageAdded: "message.added",
    Ticket.ContactMessageAdded: "message.added",
    Ticket.NoteAdded: "note.added",
}
# The ticket events that are triggers: what the rule engine reads of the log.
TRIGGER_EVENT_TYPES: tuple[type[Ticket.Event], ...] = (
    Ticket.Created,
    *_CHANGES,
    Ticket.TagAdded,
    Ticket.TagRemoved,
    *_MESSAGES,
    Ticket.LinkedIssueDone,
)
# What the rule engine reads of the log: the triggers, and the rules' runs, which end a save's group
# (two saves by one rule at one moment are two triggers: a `RuleRun` stands between them).
RULE_ENGINE_EVENT_TYPES: tuple[type[Ticket.Event], ...] = (*TRIGGER_EVENT_TYPES, Ticket.RuleRun)


def _is_update(e: Any) -> bool:
    return type(e) in _CHANGES or isinstance(e, Ticket.TagAdded | Ticket.TagRemoved)


def same_save(a: Any, b: Any) -> bool:
    """Whether two trigger events were recorded together (one actor, one moment, one ticket)."""
    return (a.originator_id, a.timestamp, a.actor_id) == (b.originator_id, b.timestamp, b.actor_id)


def triggers_of(events: Sequence[Any]) -> list[Trigger]:
    """The triggers of trigger events in log order: each created ticket and message alone, and the
    field changes one save recorded on a ticket together as one `ticket.updated` with all its changes."""
    triggers: list[Trigger] = []
    pending: list[Any] = []

    def flush() -> None:
        if not pending:
            return
        changes: dict[str, tuple[Any, Any]] = {}
        removed: list[str] = []
        added: list[str] = []
        for e in pending:
            if isinstance(e, Ticket.TagAdded):
                added.append(str(e.tag_id))
            elif isinstance(e, Ticket.TagRemoved):
                removed.append(str(e.tag_id))
            else:
                name, old, new = _CHANGES[type(e)](e)
                changes[name] = (changes[name][0] if name in changes else old, new)
        if added or removed:
            changes["tags"] = (tuple(removed), tuple(added))
        first, last = pending[0], pending[-1]
        triggers.append(
            Trigger(
                "ticket.updated",
                first.originator_id,
                first.originator_version,
                last.originator_version,
                first.actor_id,
                first.timestamp,
                changes,
            )
        )
        pending.clear()

    for e in events:
        if isinstance(e, Ticket.RuleRun):
            flush()
            continue
        if _is_update(e):
            if pending and not same_save(pending[-1], e):
                flush()
            pending.append(e)
            continue
        flush()
        version = e.originator_version
        if isinstance(e, Ticket.Created | Ticket.LinkedIssueDone):
            kind = "ticket.created" if isinstance(e, Ticket.Created) else "issue.done"
            triggers.append(Trigger(kind, e.originator_id, version, version, e.actor_id, e.timestamp))
        elif type(e) in _MESSAGES:
            triggers.append(
                Trigger(
                    _MESSAGES[type(e)],
                    e.originator_id,
                    version,
                    version,
                    e.actor_id,
                    e.timestamp,
                    content=e.content,
                )
            )
    flush()
    return triggers


def facts_of(ticket: Ticket, trigger: Trigger | None = None, content: str | None = None) -> Facts:
    """What conditions see of `ticket` (as of the trigger) and the trigger's changes."""
    values = {
        "subject": ticket.subject,
        "description": ticket.description,
        "content": trigger.content if trigger is not None else content,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category.value,
        "source": ticket.source.value,
        "teamId": _id_text(ticket.team_id),
        "assigneeId": _id_text(ticket.assignee_id),
        "tags": tuple(str(t) for t in ticket.tag_ids),
        "contactEmail": ticket.contact_email,
    }
    return Facts(values, dict(trigger.changes) if trigger is not None else {})


# ---------------------------------------------------------------------------- round-robin


class TeamRotation(TypedAggregate):
    """Whose turn it is in a team's round-robin: the member who got the last ticket. Saved with the
    ticket it assigns, so the turn moves exactly when an assignment is stored, and survives restarts."""

    @staticmethod
    def create_id(team_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"team-rotation:{team_id}")

    @event("Started")
    def __init__(self, team_id: UUID, timestamp: datetime) -> None:
        self.team_id = team_id
        self.last_member_id: UUID | None = None

    def next_of(self, member_ids: Sequence[UUID]) -> UUID | None:
        """The member after the last one given a ticket, in the team's order (the first if none)."""
        if not member_ids:
            return None
        last = self.last_member_id
        if last is not None and last in member_ids:
            return member_ids[(list(member_ids).index(last) + 1) % len(member_ids)]
        return member_ids[0]

    @event("Advanced")
    def advance(self, member_id: UUID, timestamp: datetime) -> None:
        self.last_member_id = member_id


def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """`{{ticket.number}}`-style placeholders replaced by their values in one pass: plain token
    replacement, never evaluation, and a value that itself looks like a placeholder stays as it is.
    Unknown placeholders are left in the text."""
    out: list[str] = []
    rest = template
    while (start := rest.find("{{")) >= 0:
        end = rest.find("}}", start + 2)
        if end < 0:
            break
        key = rest[start + 2 : end].strip()
        out.append(rest[:start])
        out.append(values[key] if key in values else rest[start : end + 2])
        rest = rest[end + 2 :]
    out.append(rest)
    return "".join(out)


__all__ = [
    "ACTION_TYPES",
    "FIELDS",
    "MAX_DEPTH",
    "OPS",
    "RULE_ENGINE_EVENT_TYPES",
    "TRIGGERS",
    "TRIGGER_EVENT_TYPES",
    "Action",
    "Condition",
    "Facts",
    "Matcher",
    "Rule",
    "TeamRotation",
    "Trigger",
    "check_action",
    "check_condition",
    "check_rule",
    "facts_of",
    "fill_placeholders",
    "ops_for",
    "rule_order",
    "triggers_of",
]
