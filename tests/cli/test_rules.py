"""`pfai rule`: the worked example of docs/automation.md, applied from YAML and run by the server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.conftest import CliOrg, LiveServer, Pfai, ok, ok_json

RULES_YAML = """
rules:
  - name: Urgent round-robin
    on: [ticket.created, ticket.updated]
    conditions:
      all:
        - {field: priority, op: is, value: urgent}
        - {field: assigneeId, op: is, value: null}
    actions:
      - {type: assign_round_robin, teamId: Tier 1}
  - name: VIP mail
    on: [ticket.created]
    conditions:
      any:
        - {field: contactEmail, op: ends_with, value: "@vip.example"}
    actions:
      - {type: add_tag, tagId: vip}
      - {type: set_priority, value: high}
"""


def test_rules_apply_from_yaml_by_name_and_run(
    pfai: Pfai, cli_org: CliOrg, live_server: LiveServer, tmp_path: Path
) -> None:
    api = httpx.Client(
        base_url=f"{cli_org.admin.server}/api/v1", headers={"Authorization": f"Bearer {cli_org.admin.token}"}
    )
    team = api.post("/teams", json={"name": "Tier 1"}).json()["id"]
    members = [cli_org.add_member(name) for name in ("Ann", "Bob")]
    for member in members:
        api.put(f"/teams/{team}/members/{member.user_id}").raise_for_status()
    api.post("/ticket-tags", json={"name": "vip"}).raise_for_status()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_YAML)

    applied = ok(pfai("rule", "apply", "-f", str(rules))).splitlines()
    assert [line.split()[0] for line in applied[1:]] == ["created", "created"]
    again = ok(pfai("rule", "apply", "-f", str(rules))).splitlines()
    assert [line.split()[0] for line in again[1:]] == ["updated", "updated"]
    listed = ok_json(pfai("rule", "ls", "--query", "[].name"))
    assert listed == ["Urgent round-robin", "VIP mail"]
    shown = ok_json(pfai("rule", "get", "vip mail", "-o", "json"))
    assert shown["actions"][0]["type"] == "add_tag" and shown["actions"][1] == {
        "type": "set_priority",
        "value": "high",
    }

    urgent = [
        api.post("/tickets", json={"subject": f"down {i}", "priority": "urgent"}).json()["id"]
        for i in range(3)
    ]
    vip = api.post("/tickets", json={"subject": "hello", "contactEmail": "cy@vip.example"}).json()["id"]
    services = live_server.services
    assert services.read_side is not None
    while services.read_side.run_rules(services.rule_engine).advanced:
        pass
    assignees = [api.get(f"/tickets/{t}").json()["assigneeId"] for t in urgent]
    ids = [m.user_id for m in members]
    assert assignees in (
        [ids[0], ids[1], ids[0]],
        [ids[1], ids[0], ids[1]],
    )  # round the team, from wherever it stood
    tagged = api.get(f"/tickets/{vip}").json()
    assert [t["name"] for t in tagged["tags"]] == ["vip"] and tagged["priority"] == "high"
    summaries = [e["summary"] for e in api.get(f"/tickets/{vip}/activities").json()["items"]]
    assert "priority medium → high by rule 'VIP mail'" in summaries

    assert ok(pfai("rule", "rm", "VIP mail", "--yes")) == "Deleted rule VIP mail.\n"
    assert ok_json(pfai("rule", "ls", "--query", "[].name")) == ["Urgent round-robin"]


def test_a_bad_rule_file_is_explained(pfai: Pfai, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: x\n  on: [ticket.created]\n  actions: [{type: explode}]\n")
    result = pfai("rule", "apply", "-f", str(bad))
    assert result.exit_code == 1 and "unknown action type 'explode'" in result.stderr
    bad.write_text("just: text\n")
    assert "expected a list of rules" in pfai("rule", "apply", "-f", str(bad)).stderr
