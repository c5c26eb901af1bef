"""`pfai api`, the global output options, help texts and shell completion."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from tests.cli.conftest import Pfai, ok, ok_json
from tickets.cli.main import cli
from tickets.cli.terminal import use_colour


def test_api_calls_any_endpoint_like_the_specs_examples(pfai: Pfai, tmp_path: Path) -> None:
    tag = ok_json(
        pfai("api", "POST", "/api/v1/ticket-tags", "-d", '{"name": "regression", "color": "#ef4444"}')
    )
    assert tag["name"] == "regression"
    ticket = ok_json(pfai("api", "POST", "tickets", "-d", '{"subject": "Login broken"}'))
    body = tmp_path / "message.json"
    body.write_text(json.dumps({"content": "Hi! Fixed in v1.4.3.", "isInternalNote": False}))
    message = ok_json(pfai("api", "POST", f"/api/v1/tickets/{ticket['id']}/messages", "-d", f"@{body}"))
    assert message["isInternalNote"] is False
    piped = ok_json(
        pfai(
            "api", "POST", "tickets/1/messages", "-d", "@-", input='{"content": "x", "isInternalNote": true}'
        )
    )
    assert piped["isInternalNote"] is True
    assert ok(pfai("api", "get", "tickets/1", "--query", "subject")) == "Login broken\n"
    page = yaml.safe_load(ok(pfai("api", "GET", "tickets/1/messages", "-p", "limit=1", "-o", "yaml")))
    assert len(page["items"]) == 1
    assert page["nextCursor"]
    assert ok(pfai("api", "DELETE", f"/api/v1/ticket-tags/{tag['id']}")) == ""


def test_api_reports_bad_json_and_server_errors(pfai: Pfai) -> None:
    bad = pfai("api", "POST", "tickets", "-d", "{nope")
    assert bad.exit_code == 2
    assert "not valid JSON" in bad.stderr
    refused = pfai("api", "POST", "tickets", "-d", '{"subject": "x", "colour": 1}')
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: Bad Request: ")


def test_output_options_work_on_the_root_and_on_the_command(pfai: Pfai) -> None:
    ok(pfai("tag", "create", "regression"))
    assert ok_json(pfai("-o", "json", "tag", "ls", "--query", "[].name")) == ["regression"]
    assert ok_json(pfai("--json", "name", "tag", "ls")) == [{"name": "regression"}]
    # The command's own option wins over the root's.
    assert yaml.safe_load(ok(pfai("-o", "json", "tag", "ls", "-o", "yaml"))) == ok_json(
        pfai("tag", "ls", "-o", "json")
    )


def test_json_fields_are_checked(pfai: Pfai) -> None:
    ok(pfai("tag", "create", "regression"))
    unknown = pfai("tag", "ls", "--json", "name,colour")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: unknown field colour; available: color, id, name, teamId")
    swallowed = pfai("ticket", "view", "--json", "42")
    assert swallowed.exit_code == 2
    assert "write --json=id,subject or put --json last" in swallowed.stderr


def test_a_bad_query_is_a_usage_error(pfai: Pfai) -> None:
    result = pfai("tag", "ls", "--query", "[?name==")
    assert result.exit_code == 2
    assert "not a valid JMESPath expression" in result.stderr


def test_tables_have_no_colour_when_piped(pfai: Pfai) -> None:
    ok(pfai("ticket", "create", "--subject", "Login broken", "--priority", "urgent"))
    assert "\x1b[" not in ok(pfai("ticket", "view", "1"))


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(FakeTerminal())
    assert not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(FakeTerminal())


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command under the group, as the words that invoke it."""
    found: list[tuple[str, ...]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += command_paths(command, (*prefix, name))
    return found


def test_every_command_has_help_with_examples(config_dir: Path) -> None:
    for path in [(), *command_paths(cli)]:
        if path[:1] == ("projections",):
            continue  # not part of the client; documented with the read side
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.stdout, f"pfai {' '.join(path)} --help has no examples"


def test_aliases_show_in_help_and_work(pfai: Pfai) -> None:
    help_text = ok(pfai("ticket", "--help"))
    assert "list, ls" in help_text
    assert "view, get" in help_text
    assert "delete, rm" in help_text
    assert ok(pfai("tag", "ls", "-o", "json")) == ok(pfai("tag", "list", "-o", "json"))


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str, config_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    assert "_PFAI_COMPLETE" in result.stdout


def test_completion_offers_subcommands_and_choices(config_dir: Path) -> None:
    env = {"_PFAI_COMPLETE": "bash_complete", "COMP_WORDS": "pfai ticket list --status o", "COMP_CWORD": "4"}
    result = CliRunner().invoke(cli, [], env=env, prog_name="pfai")
    assert "plain,open" in result.stdout
    assert "plain,on_hold" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--json", "ticket", "ls"),
        ("ticket", "--json", "ls"),
        ("ticket", "ls", "--json"),
        ("-o", "json", "ticket", "ls"),
        ("ticket", "-o", "json", "ls"),
        ("--json=ticketNumber,subject", "ticket", "ls"),
        ("ticket", "--json", "ticketNumber,subject", "ls"),
    ],
)
def test_global_flags_work_before_or_after_the_subcommand(pfai: Pfai, args: tuple[str, ...]) -> None:
    ok(pfai("ticket", "create", "--subject", "Login broken"))
    [ticket] = ok_json(pfai(*args))
    assert ticket["subject"] == "Login broken" and ticket["ticketNumber"] == 1


def test_settings_groups_take_the_global_flags_too(pfai: Pfai) -> None:
    ok(pfai("tag", "create", "regression"))
    assert [t["name"] for t in ok_json(pfai("--json", "tag", "ls"))] == ["regression"]
    assert ok_json(pfai("tag", "--json=name", "ls")) == [{"name": "regression"}]
