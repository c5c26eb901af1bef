"""`pfai tag`, `pfai sla-policy` and `pfai canned`: kubectl-style verbs over the settings endpoints."""

from __future__ import annotations

import httpx
import yaml

from tests.cli.conftest import CliOrg, Pfai, ok, ok_json


def test_tags_can_be_created_listed_renamed_and_removed(pfai: Pfai) -> None:
    assert ok(pfai("tag", "create", "regression", "--color", "#ef4444")).startswith(
        "Created tag regression ("
    )
    ok(pfai("tag", "create", "billing"))
    table = ok(pfai("tag", "ls")).splitlines()
    assert table[0].split() == ["ID", "NAME", "COLOR", "TEAM"]
    assert [line.split()[1] for line in table[1:]] == ["billing", "regression"]
    assert "#ef4444" in table[2]
    short_id = table[2].split()[0]
    assert len(short_id) == 8
    assert ok_json(pfai("tag", "get", short_id, "--json", "name")) == {"name": "regression"}

    ok(pfai("tag", "update", "regression", "--name", "regressed", "--color", "#f97316"))
    assert ok_json(pfai("tag", "list", "--query", "[].name")) == ["billing", "regressed"]
    assert ok(pfai("tag", "view", "regressed")).splitlines()[1:] == [
        "Name:  regressed",
        "Color: ■ #f97316",
        "Team:  -",
    ]

    assert ok(pfai("tag", "rm", "regressed", "billing", "--yes")) == "Deleted tag regressed, billing.\n"
    assert ok_json(pfai("tag", "ls", "-o", "json")) == []
    assert pfai("tag", "ls").stderr == "No tags.\n"


def test_a_bad_colour_is_explained_by_the_server(pfai: Pfai) -> None:
    result = pfai("tag", "create", "regression", "--color", "red")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Unprocessable Entity: ")


def test_a_duplicate_tag_is_a_conflict(pfai: Pfai) -> None:
    ok(pfai("tag", "create", "regression"))
    result = pfai("tag", "create", "Regression")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Conflict: ")


def test_sla_policies_take_human_durations(pfai: Pfai) -> None:
    created = ok_json(
        pfai(
            "sla-policy",
            "create",
            "--priority",
            "urgent",
            "--first-response",
            "30m",
            "--resolution",
            "1d4h",
            "-o",
            "json",
        )
    )
    assert (created["firstResponseMinutes"], created["resolutionMinutes"]) == (30, 1680)
    table = ok(pfai("sla-policy", "ls")).splitlines()
    assert table[0].split() == ["ID", "PRIORITY", "FIRST", "RESPONSE", "RESOLUTION", "TEAM"]
    assert table[1].split()[1:] == ["urgent", "30m", "1d", "4h", "(org-wide)"]
    ok(pfai("sla-policy", "update", created["id"][:8], "--resolution", "8h"))
    policy = yaml.safe_load(ok(pfai("sla-policy", "get", created["id"], "-o", "yaml")))
    assert policy["resolutionMinutes"] == 480
    bad = pfai("sla-policy", "create", "--priority", "high", "--first-response", "soon", "--resolution", "1d")
    assert bad.exit_code == 2
    assert "'soon' is not a duration" in bad.stderr
    ok(pfai("sla-policy", "rm", created["id"][:8], "-y"))
    assert ok_json(pfai("sla-policy", "ls", "-o", "json")) == []


def test_an_sla_policy_makes_tickets_show_their_deadline(pfai: Pfai) -> None:
    ok(pfai("sla-policy", "create", "--priority", "high", "--first-response", "1h", "--resolution", "1d"))
    ok(pfai("sla-policy", "create", "--priority", "urgent", "--first-response", "15m", "--resolution", "4h"))
    ok(pfai("ticket", "create", "--subject", "Down", "--priority", "high"))
    shown = ok(pfai("ticket", "view", "1"))
    assert "first response due" in shown
    assert "resolution due" in shown
    ok(pfai("ticket", "update", "1", "--priority", "urgent"))
    timeline = ok(pfai("ticket", "history", "1"))
    assert "SLA: first response by" in timeline


def test_canned_responses_round_trip(pfai: Pfai) -> None:
    ok(pfai("canned", "create", "--title", "Password reset", "--body", "Use the *Forgot password* link."))
    ok(pfai("canned", "create", "--title", "Outage", "--body-file", "-", input="We are on it.\n"))
    assert ok_json(pfai("canned", "ls", "--query", "[].title")) == ["Outage", "Password reset"]
    shown = ok(pfai("canned", "view", "password reset"))
    assert "Title:      Password reset" in shown
    assert "Use the Forgot password link." in shown
    assert ok(pfai("canned", "get", "outage", "--query", "body")) == "We are on it.\n\n"
    ok(pfai("canned", "update", "outage", "--title", "Major outage"))
    assert ok_json(pfai("canned", "view", "major outage", "--json", "title")) == {"title": "Major outage"}
    declined = pfai("canned", "rm", "major outage", input="n\n")
    assert declined.exit_code == 1
    ok(pfai("canned", "delete", "major outage", "password reset", "--yes"))
    assert pfai("canned", "ls").stderr == "No canned responses.\n"


def test_an_ambiguous_reference_names_the_candidates(pfai: Pfai) -> None:
    ok(pfai("api", "POST", "teams", "-d", '{"name": "Support"}'))
    ok(pfai("api", "POST", "teams", "-d", '{"name": "Sales"}'))
    ok(pfai("tag", "create", "vip", "--team", "support"))
    ok(pfai("tag", "create", "vip", "--team", "sales"))
    result = pfai("tag", "get", "vip")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: 'vip' matches several tags: vip (")
    assert "use an id" in result.stderr


def test_lists_longer_than_a_page_are_printed_whole(pfai: Pfai, cli_org: CliOrg) -> None:
    admin = cli_org.admin
    with httpx.Client(base_url=admin.server, headers={"Authorization": f"Bearer {admin.token}"}) as http:
        for n in range(60):  # more than the server's default page of 50
            assert http.post("/api/v1/ticket-tags", json={"name": f"tag-{n:02}"}).status_code == 201
    names = ok_json(pfai("tag", "ls", "--query", "[].name"))
    assert names == [f"tag-{n:02}" for n in range(60)]
    # Name lookups (the CLI's directory) see every page too.
    assert ok_json(pfai("tag", "view", "tag-59", "--json", "name")) == {"name": "tag-59"}
