"""The ticket's rules, on the in-memory store."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from tests.unit.conftest import Desk
from tickets.domain.commands import NewTicket, TicketChanges
from tickets.domain.errors import ConflictError, ForbiddenError, InvalidValueError, NotFoundError
from tickets.domain.mentions import parse_mentions
from tickets.domain.values import Category, Priority, Status


def test_new_ticket_has_the_spec_defaults(desk: Desk) -> None:
    ticket = desk.tickets.create(desk.agent, NewTicket(subject="Login broken")).value
    assert (ticket.status, ticket.priority, ticket.category, ticket.source.value) == (
        Status.OPEN,
        Priority.MEDIUM,
        Category.GENERAL,
        "api",
    )
    assert ticket.creator_id == desk.agent.user_id
    assert ticket.ticket_number == 1
    assert ticket.sla_deadline is None


def test_ticket_numbers_count_up_per_org(desk: Desk) -> None:
    numbers = [
        desk.tickets.create(desk.agent, NewTicket(subject=f"t{i}")).value.ticket_number for i in range(3)
    ]
    assert numbers == [1, 2, 3]
    other = desk.directory.create_org("globex", "Globex", "hank@globex.test")
    other_actor = desk.directory.authenticate(other.token)
    assert other_actor is not None
    assert desk.tickets.create(other_actor, NewTicket(subject="x")).value.ticket_number == 1


def test_resolved_sets_resolved_at_and_reopening_clears_it(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    resolved = desk.tickets.update(desk.agent, "1", TicketChanges(status=Status.RESOLVED)).value
    assert resolved.resolved_at == desk.clock()
    reopened = desk.tickets.update(desk.agent, "1", TicketChanges(status=Status.OPEN)).value
    assert reopened.resolved_at is None


def test_closed_ticket_rejects_changes(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    closed = desk.tickets.update(desk.agent, "1", TicketChanges(status=Status.CLOSED)).value
    assert closed.closed_at == desk.clock()
    assert closed.resolved_at == desk.clock()
    with pytest.raises(ConflictError):
        desk.tickets.update(desk.agent, "1", TicketChanges(priority=Priority.HIGH))
    with pytest.raises(ConflictError):
        desk.tickets.update(desk.agent, "1", TicketChanges(status=Status.OPEN))
    with pytest.raises(ConflictError):
        desk.tickets.add_message(desk.agent, "1", "hello?", False)


def test_follow_up_carries_over_and_links_both_ways(desk: Desk) -> None:
    team = desk.directory.create_team(desk.admin, "Support", "").value
    desk.tickets.create(
        desk.agent,
        NewTicket(
            subject="Refund",
            priority=Priority.HIGH,
            category=Category.BILLING,
            team_id=team.id,
            contact_email="c@x.test",
            contact_name="Cy",
        ),
    )
    with pytest.raises(ConflictError):
        desk.tickets.follow_up(desk.agent, "1")
    desk.tickets.update(desk.agent, "1", TicketChanges(status=Status.CLOSED))
    follow_up = desk.tickets.follow_up(desk.agent, "1").value
    original = desk.tickets.get(desk.agent, "1")
    assert follow_up.ticket_number == 2
    assert follow_up.follow_up_of == original.id
    assert original.follow_up_ids == [follow_up.id]
    assert (follow_up.subject, follow_up.priority, follow_up.category, follow_up.team_id) == (
        "Refund",
        Priority.HIGH,
        Category.BILLING,
        team.id,
    )
    assert (follow_up.contact_email, follow_up.contact_name) == ("c@x.test", "Cy")
    assert follow_up.status == Status.OPEN


def test_message_count_counts_live_messages_and_notes(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    first = desk.tickets.add_message(desk.agent, "1", "public", False).value
    desk.tickets.add_message(desk.agent, "1", "note", True)
    desk.tickets.delete_message(desk.agent, "1", first.id)
    ticket = desk.tickets.get(desk.agent, "1")
    assert ticket.message_count == 1
    assert [m.content for m in ticket.visible_messages()] == ["note"]


def test_only_the_author_edits_or_deletes_a_message(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    message = desk.tickets.add_message(desk.agent, "1", "mine", False).value
    with pytest.raises(ForbiddenError):
        desk.tickets.edit_message(desk.admin, "1", message.id, "not yours")
    with pytest.raises(ForbiddenError):
        desk.tickets.delete_message(desk.admin, "1", message.id)
    edited = desk.tickets.edit_message(desk.agent, "1", message.id, "mine, edited").value
    assert edited.content == "mine, edited"
    assert edited.edited_at == desk.clock()
    with pytest.raises(NotFoundError):
        desk.tickets.edit_message(desk.agent, "1", uuid4(), "x")


def test_mentions_resolve_handles_of_members_only(desk: Desk) -> None:
    handles = desk.directory.org(desk.admin.org_id).members_by_handle()
    assert parse_mentions("@bob please look, cc @ada and @nobody; mail bob@acme.test", handles) == [
        desk.agent.user_id,
        desk.admin.user_id,
    ]
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    note = desk.tickets.add_message(desk.agent, "1", "@ada can you look? @ada", True).value
    assert note.mentions == [desk.admin.user_id]


def test_set_tags_records_one_event_per_added_or_removed_tag(desk: Desk) -> None:
    a, b, c = (desk.directory.create_tag(desk.agent, name, "#112233", None).value for name in "abc")
    desk.tickets.create(desk.agent, NewTicket(subject="s", tag_ids=[a.id, b.id]))
    desk.tickets.update(desk.agent, "1", TicketChanges(tag_ids=[b.id, c.id]))
    types = [e.type for e in desk.tickets.timeline(desk.agent, "1")]
    assert types == ["created", "tag_removed", "tag_added"]
    assert desk.tickets.get(desk.agent, "1").tag_ids == [b.id, c.id]
    with pytest.raises(InvalidValueError):
        desk.tickets.update(desk.agent, "1", TicketChanges(tag_ids=[uuid4()]))


def test_patch_that_changes_nothing_records_no_event(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="same", priority=Priority.HIGH))
    saved = desk.tickets.update(desk.agent, "1", TicketChanges(subject="same", priority=Priority.HIGH))
    assert saved.position is None
    assert saved.value.version == 1


def test_assignee_must_be_a_member(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    with pytest.raises(InvalidValueError):
        desk.tickets.assign(desk.agent, "1", uuid4())
    assert desk.tickets.assign(desk.agent, "1", desk.agent.user_id).value.assignee_id == desk.agent.user_id
    entry = desk.tickets.timeline(desk.agent, "1")[-1]
    assert (entry.type, entry.old_value, entry.new_value) == ("assigned", None, desk.agent.user_id)


def test_viewer_cannot_write(desk: Desk) -> None:
    with pytest.raises(ForbiddenError):
        desk.tickets.create(desk.viewer, NewTicket(subject="s"))
    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    with pytest.raises(ForbiddenError):
        desk.tickets.add_message(desk.viewer, "1", "hi", False)
    assert desk.tickets.get(desk.viewer, "1").subject == "s"


def test_deleted_ticket_is_gone_but_its_events_stay(desk: Desk) -> None:
    ticket = desk.tickets.create(desk.agent, NewTicket(subject="s")).value
    desk.tickets.delete(desk.agent, "1")
    with pytest.raises(NotFoundError):
        desk.tickets.get(desk.agent, "1")
    with pytest.raises(NotFoundError):
        desk.tickets.update(desk.agent, str(ticket.id), TicketChanges(subject="x"))
    assert [type(e).__name__ for e in desk.app.events.get(ticket.id)] == ["Created", "Deleted"]


def test_another_orgs_ticket_is_not_found(desk: Desk) -> None:
    ticket = desk.tickets.create(desk.agent, NewTicket(subject="secret")).value
    other = desk.directory.create_org("globex", "Globex", "hank@globex.test")
    outsider = desk.directory.authenticate(other.token)
    assert outsider is not None
    for ref in (str(ticket.id), "1"):
        with pytest.raises(NotFoundError):
            desk.tickets.get(outsider, ref)
        with pytest.raises(NotFoundError):
            desk.tickets.add_message(outsider, ref, "hi", False)


def test_version_and_as_of_replay_history(desk: Desk) -> None:
    desk.tickets.create(desk.agent, NewTicket(subject="v1"))
    created_at = desk.clock()
    desk.clock.advance(minutes=5)
    desk.tickets.update(desk.agent, "1", TicketChanges(subject="v2", priority=Priority.URGENT))
    assert desk.tickets.get(desk.agent, "1", version=1).subject == "v1"
    assert desk.tickets.get(desk.agent, "1", version=2).subject == "v2"
    assert desk.tickets.get(desk.agent, "1", version=2).priority == Priority.MEDIUM
    as_then = desk.tickets.get(desk.agent, "1", as_of=created_at + timedelta(minutes=1))
    assert (as_then.subject, as_then.version) == ("v1", 1)
    with pytest.raises(NotFoundError):
        desk.tickets.get(desk.agent, "1", version=9)
    with pytest.raises(NotFoundError):
        desk.tickets.get(desk.agent, "1", as_of=created_at - timedelta(seconds=1))


def test_copies_of_a_ticket_share_messages_but_not_the_thread(desk: Desk) -> None:
    """The repository hands out copies; sharing immutable messages keeps long threads cheap to copy."""
    import copy

    desk.tickets.create(desk.agent, NewTicket(subject="s"))
    first = desk.tickets.add_message(desk.agent, "1", "one", False).value
    original = desk.tickets.get(desk.agent, "1")
    clone = copy.deepcopy(original)
    assert clone.messages[str(first.id)] is original.messages[str(first.id)]
    clone.add_message(uuid4(), desk.agent.user_id, "two", False, [], desk.clock())
    clone.delete_message(first.id, desk.agent.user_id, desk.clock())
    assert original.message_count == 1 and len(original.messages) == 1
    assert not original.messages[str(first.id)].deleted
    assert clone.message_count == 1 and len(clone.messages) == 2
