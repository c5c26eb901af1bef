"""`pfai issue` and `pfai ticket convert`: engineering issues from the command line."""

from __future__ import annotations

from tests.cli.conftest import Pfai, ok, ok_json


def test_a_ticket_converts_and_the_issue_moves_through_its_statuses(pfai: Pfai) -> None:
    ok(pfai("ticket", "create", "--subject", "Export crashes"))
    assert ok(pfai("ticket", "convert", "1")) == "Created issue #1: Export crashes\n"
    assert ok(pfai("issue", "create", "--title", "Faster export", "--priority", "low")) == (
        "Created issue #2: Faster export\n"
    )
    table = ok(pfai("issue", "ls")).splitlines()
    assert table[0].split() == ["#", "STATUS", "PRIORITY", "TITLE", "UPDATED"]
    assert [line.split()[0] for line in table[1:]] == ["2", "1"]
    assert (
        ok(pfai("issue", "update", "#1", "--status", "in_progress")) == "Updated issue #1: Export crashes\n"
    )
    assert ok_json(pfai("issue", "ls", "--status", "in_progress", "--query", "[].issueNumber")) == [1]
    assert ok_json(pfai("issue", "view", "1", "--json", "metadata"))["metadata"]["ticketNumber"] == 1
    nothing = pfai("issue", "update", "1")
    assert nothing.exit_code == 2 and "at least one" in nothing.stderr
    missing = pfai("issue", "view", "99")
    assert missing.exit_code == 1 and "issue #99 not found" in missing.stderr


def test_the_inbox_lists_and_marks_read(pfai: Pfai) -> None:
    me = ok_json(pfai("whoami", "-o", "json"))
    ok(pfai("ticket", "create", "--subject", "Printer"))
    # A note by someone else would notify; the CLI user's own actions never do.
    ok(pfai("ticket", "note", "1", f"@{me['user']['handle']} remember"))
    empty = pfai("inbox")
    assert ok(empty) == "" and "Nothing new." in empty.stderr
    assert ok_json(pfai("inbox", "--all", "-o", "json")) == []
    assert ok(pfai("inbox", "--read-all")) == "Marked every notification read.\n"


def test_the_inbox_chooses_an_email_digest(pfai: Pfai) -> None:
    assert ok(pfai("inbox", "--digest", "daily")) == "E-mail digest: daily.\n"
    assert ok_json(pfai("whoami", "-o", "json"))["notify"]["emailDigest"] == "daily"
    assert pfai("inbox", "--digest", "weekly").exit_code == 2


def test_a_teams_queue_is_its_unassigned_tickets(pfai: Pfai) -> None:
    ok(pfai("api", "POST", "/api/v1/teams", "-d", '{"name": "Support"}'))
    ok(pfai("ticket", "create", "--subject", "In the queue", "--team", "Support"))
    ok(pfai("ticket", "create", "--subject", "Taken", "--team", "Support", "--assignee", "me"))
    ok(pfai("ticket", "create", "--subject", "Elsewhere"))
    assert ok_json(pfai("ticket", "ls", "--queue", "support", "--query", "[].subject")) == ["In the queue"]
    both = pfai("ticket", "ls", "--queue", "support", "--team", "support")
    assert both.exit_code == 2 and "--queue" in both.stderr
