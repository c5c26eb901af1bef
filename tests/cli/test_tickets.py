"""`pfai ticket`: the ticket commands against a real server, in every output format."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.conftest import CliOrg, Pfai, ok, ok_json


def create(pfai: Pfai, subject: str, *options: str) -> dict[str, object]:
    created: dict[str, object] = ok_json(
        pfai("ticket", "create", "--subject", subject, *options, "-o", "json")
    )
    return created


def test_create_prints_a_line_for_people_and_the_ticket_for_scripts(pfai: Pfai) -> None:
    assert ok(pfai("ticket", "create", "--subject", "Login broken", "--priority", "high")) == (
        "Created ticket #1: Login broken\n"
    )
    created = create(pfai, "Refund", "--category", "billing", "--contact-email", "jo@example.com")
    assert created["ticketNumber"] == 2
    assert created["category"] == "billing"
    assert created["contactEmail"] == "jo@example.com"
    only = ok_json(pfai("ticket", "create", "--subject", "Third", "--json", "ticketNumber,status"))
    assert only == {"ticketNumber": 3, "status": "open"}


def test_create_takes_the_description_from_a_file_or_stdin(pfai: Pfai, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("Steps:\n\n1. open the app\n")
    from_file = create(pfai, "From a file", "--description-file", str(report))
    assert from_file["description"] == "Steps:\n\n1. open the app\n"
    piped = ok_json(pfai("ticket", "create", "--subject", "Piped", "-o", "json", input="It crashes.\n"))
    assert piped["description"] == "It crashes.\n"


def test_create_resolves_team_tags_and_assignee_by_name(pfai: Pfai, cli_org: CliOrg) -> None:
    alice = cli_org.add_member("Alice")
    ok(pfai("api", "POST", "/api/v1/teams", "-d", '{"name": "Support"}'))
    ok(pfai("tag", "create", "regression"))
    ok(pfai("tag", "create", "vip"))
    created = create(
        pfai, "Crash", "--team", "support", "--tag", "regression", "--tag", "VIP", "--assignee", alice.email
    )
    assert created["assigneeId"] == alice.user_id
    assert sorted(tag["name"] for tag in created["tags"]) == ["regression", "vip"]  # type: ignore[attr-defined]
    missing = pfai("ticket", "create", "--subject", "x", "--tag", "nope")
    assert missing.exit_code == 1
    assert missing.stderr == "error: no tag matches 'nope'\n"


def test_view_shows_fields_and_the_thread(pfai: Pfai) -> None:
    create(pfai, "Login broken", "--priority", "high", "--description", "It *fails* after the update.")
    ok(pfai("ticket", "reply", "1", "Hi! We shipped a fix in v1.4.3, please try again."))
    ok(pfai("ticket", "note", "#1", "@ada third report this week"))
    shown = ok(pfai("ticket", "view", "1"))
    assert shown.startswith("#1  Login broken\n")
    for expected in (
        "Status:   open",
        "Priority: high",
        "Assignee: -",
        "It fails after the update.",
        "Thread (2)",
        "public reply",
        "Hi! We shipped a fix in v1.4.3",
        "internal note",
        "@ada third report this week",
    ):
        assert expected in shown, expected
    assert all(len(line) <= 80 for line in shown.splitlines())


def test_view_in_json_and_yaml_carries_messages_and_activities(pfai: Pfai) -> None:
    create(pfai, "Login broken")
    ok(pfai("ticket", "reply", "1", "public"))
    ok(pfai("ticket", "note", "1", "private"))
    as_json = ok_json(pfai("ticket", "get", "1", "--activities", "-o", "json"))
    assert as_json["subject"] == "Login broken"
    assert [m["isInternalNote"] for m in as_json["messages"]] == [False, True]
    assert [a["type"] for a in as_json["activities"]] == ["created", "message_added", "note_added"]
    as_yaml = yaml.safe_load(ok(pfai("ticket", "view", "1", "-o", "yaml")))
    assert as_yaml["ticketNumber"] == 1
    assert len(as_yaml["messages"]) == 2
    notes = ok_json(pfai("ticket", "view", "1", "--query", "messages[?isInternalNote].content"))
    assert notes == ["private"]
    assert ok(pfai("ticket", "view", "1", "--query", "status")) == "open\n"


def test_update_changes_fields_tags_and_assignee_and_history_tells_it(pfai: Pfai, cli_org: CliOrg) -> None:
    alice = cli_org.add_member("Alice")
    ok(pfai("tag", "create", "regression"))
    ok(pfai("tag", "create", "triage"))
    create(pfai, "Login broken", "--tag", "triage")
    said = ok(
        pfai(
            "ticket", "update", "1", "--priority", "urgent", "--status", "pending",
            "--add-tag", "regression", "--remove-tag", "triage", "--assignee", "alice",
        )
    )  # fmt: skip
    assert said == "Updated ticket #1: Login broken\n"
    ticket = ok_json(pfai("ticket", "view", "1", "--json", "priority,status,assigneeId,tags"))
    assert ticket["priority"] == "urgent"
    assert ticket["status"] == "pending"
    assert ticket["assigneeId"] == alice.user_id
    assert [tag["name"] for tag in ticket["tags"]] == ["regression"]

    timeline = ok(pfai("ticket", "history", "1"))
    for expected in (
        'created "Login broken"',
        "priority medium → urgent",
        "status open → pending",
        "tag added regression",
        "tag removed triage",
        "assignee - → @alice",
    ):
        assert expected in timeline, expected
    assert timeline.splitlines()[0].split() == ["WHEN", "WHO", "CHANGE"]
    kinds = ok_json(pfai("ticket", "history", "1", "--query", "[].type"))
    assert kinds[0] == "created"
    assert "assigned" in kinds

    unassigned = ok_json(pfai("ticket", "update", "1", "--assignee", "none", "-o", "json"))
    assert unassigned["assigneeId"] is None


def test_update_without_changes_is_a_usage_error(pfai: Pfai) -> None:
    create(pfai, "Login broken")
    result = pfai("ticket", "update", "1")
    assert result.exit_code == 2
    assert "nothing to update" in result.stderr


def test_invalid_values_are_refused_before_and_by_the_server(pfai: Pfai) -> None:
    create(pfai, "Login broken")
    bad_choice = pfai("ticket", "update", "1", "--status", "done")
    assert bad_choice.exit_code == 2
    assert "'done' is not one of" in bad_choice.stderr
    bad_email = pfai("ticket", "update", "1", "--contact-email", "not-an-email")
    assert bad_email.exit_code == 1
    assert bad_email.stderr.startswith("error: Bad Request: ")
    assert "contactEmail" in bad_email.stderr
    assert bad_email.stderr.count("\n") == 1


def test_delete_asks_unless_yes(pfai: Pfai) -> None:
    create(pfai, "Spam")
    create(pfai, "More spam")
    declined = pfai("ticket", "delete", "1", input="n\n")
    assert declined.exit_code == 1
    assert "Delete ticket #1?" in declined.stderr
    assert ok_json(pfai("ticket", "view", "1", "--json", "ticketNumber")) == {"ticketNumber": 1}
    assert ok(pfai("ticket", "rm", "1", input="y\n")) == "Deleted ticket #1.\n"
    assert (
        ok(pfai("ticket", "rm", "2", "--yes", "-o", "json"))
        == json.dumps({"deleted": ["2"]}, indent=2) + "\n"
    )
    gone = pfai("ticket", "view", "1")
    assert gone.exit_code == 1
    assert gone.stderr.startswith("error: Not Found: ")


def test_reply_sends_a_canned_response_or_piped_text(pfai: Pfai) -> None:
    create(pfai, "Password")
    ok(pfai("canned", "create", "--title", "Password reset", "--body", "Use the *Forgot password* link."))
    canned = ok_json(pfai("ticket", "reply", "1", "--canned", "password reset", "-o", "json"))
    assert canned["content"] == "Use the *Forgot password* link."
    assert canned["isInternalNote"] is False
    piped = ok_json(pfai("ticket", "note", "1", "-o", "json", input="Customer is on the enterprise plan\n"))
    assert piped["isInternalNote"] is True
    empty = pfai("ticket", "reply", "1", input="")
    assert empty.exit_code == 2
    assert "the reply is empty" in empty.stderr
