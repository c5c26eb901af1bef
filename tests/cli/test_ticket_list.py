"""`pfai ticket list` and `pfai ticket stats`: filters by name, pages, formats, and the dashboard counts."""

from __future__ import annotations

import yaml

from tests.cli.conftest import Account, CliOrg, Pfai, ok, ok_json


def seed(pfai: Pfai, cli_org: CliOrg) -> Account:
    """Four tickets: two for alice (one urgent and tagged), one for ada, one unassigned billing one."""
    alice = cli_org.add_member("Alice")
    ok(pfai("api", "POST", "teams", "-d", '{"name": "Support"}'))
    ok(pfai("tag", "create", "regression"))
    ok(pfai("ticket", "create", "--subject", "Login broken after the 1.4 update", "--assignee", "alice"))
    ok(pfai("ticket", "create", "--subject", "Crash on save", "--priority", "urgent", "--assignee", "alice",
            "--tag", "regression", "--team", "support"))  # fmt: skip
    ok(pfai("ticket", "create", "--subject", "Export is slow", "--priority", "low", "--assignee", "me"))
    ok(pfai("ticket", "create", "--subject", "Refund request", "--category", "billing"))
    ok(pfai("ticket", "update", "3", "--status", "pending"))
    return alice


def numbers(pfai: Pfai, *filters: str) -> list[int]:
    found: list[int] = ok_json(pfai("ticket", "ls", *filters, "--query", "[].ticketNumber"))
    return sorted(found)


def test_list_is_a_table_that_fits_80_columns(pfai: Pfai, cli_org: CliOrg) -> None:
    seed(pfai, cli_org)
    ok(pfai("ticket", "create", "--subject", "A very long subject " * 10))
    lines = ok(pfai("ticket", "list")).splitlines()
    assert lines[0].split() == ["#", "SUBJECT", "STATUS", "PRIORITY", "ASSIGNEE", "SLA", "AGE"]
    assert len(lines) == 6
    assert all(len(line) <= 80 for line in lines)
    assert "…" in lines[1]  # the long subject gives up room, newest first
    crash = next(line for line in lines if "Crash on save" in line)
    assert crash.split()[0] == "2"
    assert "urgent" in crash
    assert "@alice" in crash


def test_wide_output_adds_columns(pfai: Pfai, cli_org: CliOrg) -> None:
    seed(pfai, cli_org)
    header = ok(pfai("ticket", "ls", "-o", "wide")).splitlines()[0].split()
    for column in ("CATEGORY", "TEAM", "TAGS", "CONTACT", "UPDATED", "ID"):
        assert column in header
    crash = next(line for line in ok(pfai("ticket", "ls", "-o", "wide")).splitlines() if "Crash" in line)
    assert "Support" in crash
    assert "regression" in crash


def test_filters_take_names_and_repeat(pfai: Pfai, cli_org: CliOrg) -> None:
    seed(pfai, cli_org)
    assert numbers(pfai, "--assignee", "alice") == [1, 2]
    assert numbers(pfai, "--assignee", "@alice", "--priority", "urgent") == [2]
    assert numbers(pfai, "--assignee", "me") == [3]
    assert numbers(pfai, "--assignee", "none") == [4]
    assert numbers(pfai, "--assignee", "none", "--assignee", "me") == [3, 4]
    assert numbers(pfai, "--status", "pending") == [3]
    assert numbers(pfai, "--status", "open", "--status", "pending") == [1, 2, 3, 4]
    assert numbers(pfai, "--category", "billing") == [4]
    assert numbers(pfai, "--tag", "regression") == [2]
    assert numbers(pfai, "--team", "Support") == [2]
    assert numbers(pfai, "--q", "login update") == [1]
    assert numbers(pfai, "--breached") == []
    unknown = pfai("ticket", "ls", "--assignee", "zed")
    assert unknown.exit_code == 1
    assert unknown.stderr == "error: no member matches 'zed'\n"


def test_sorting_and_pages(pfai: Pfai, cli_org: CliOrg) -> None:
    seed(pfai, cli_org)
    by_priority = ok_json(pfai("ticket", "ls", "--sort", "-priority", "--query", "[].priority"))
    assert by_priority[0] == "urgent"
    assert by_priority[-1] == "low"
    first = pfai("ticket", "ls", "--limit", "3", "--query", "[].ticketNumber")
    assert ok(first) and len(ok_json(first)) == 3
    assert first.stderr == "Showing the first 3 tickets; use --all for every page.\n"
    every = pfai("ticket", "ls", "--limit", "3", "--all", "-o", "json")
    assert sorted(t["ticketNumber"] for t in ok_json(every)) == [1, 2, 3, 4]
    assert every.stderr == ""
    bad = pfai("ticket", "ls", "--sort", "subject")
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: Bad Request: ")


def test_list_in_json_yaml_and_selected_fields(pfai: Pfai, cli_org: CliOrg) -> None:
    seed(pfai, cli_org)
    as_json = ok_json(pfai("ticket", "ls", "--status", "pending", "-o", "json"))
    assert [t["subject"] for t in as_json] == ["Export is slow"]
    as_yaml = yaml.safe_load(ok(pfai("ticket", "ls", "--status", "pending", "-o", "yaml")))
    assert as_yaml == as_json
    fields = ok_json(pfai("ticket", "ls", "--category", "billing", "--json", "ticketNumber,subject"))
    assert fields == [{"ticketNumber": 4, "subject": "Refund request"}]


def test_an_empty_list_says_so_on_stderr(pfai: Pfai) -> None:
    result = pfai("ticket", "ls")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "No tickets found.\n"
    assert ok_json(pfai("ticket", "ls", "-o", "json")) == []


def test_stats_count_by_status_priority_and_category(pfai: Pfai, cli_org: CliOrg) -> None:
    seed(pfai, cli_org)
    counts = ok_json(pfai("ticket", "stats", "-o", "json"))
    assert counts["total"] == 4
    assert counts["byStatus"]["open"] == 3
    assert counts["byStatus"]["pending"] == 1
    assert counts["byPriority"]["urgent"] == 1
    assert counts["slaBreached"] == 0
    assert ok_json(pfai("ticket", "stats", "--assignee", "alice", "--query", "total")) == 2
    shown = ok(pfai("ticket", "stats"))
    assert shown.startswith("Total:             4\nSLA breached:      0\nSLA breached ever: 0\n")
    rows = {tuple(line.split()) for line in shown.splitlines()}
    assert ("open", "3") in rows
    assert ("on_hold", "0") in rows
    assert ("billing", "1") in rows
