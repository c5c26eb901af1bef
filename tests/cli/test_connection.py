"""Where the client finds its server and token, and how it says that it cannot reach one."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

from click.testing import CliRunner

from tests.cli.conftest import CliOrg, Pfai, ok, ok_json
from tickets.cli.main import cli


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_login_saves_a_private_profile_that_later_commands_use(cli_org: CliOrg, config_dir: Path) -> None:
    admin = cli_org.admin
    code, out, err = run("login", "--server", admin.server, "--token", admin.token)
    assert code == 0, err
    assert "@ada" in out
    saved = config_dir / "config.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["profiles"]["default"] == {
        "server": admin.server,
        "token": admin.token,
    }

    code, out, err = run("whoami", "-o", "json")
    assert code == 0, err
    me = json.loads(out)
    assert me["user"]["handle"] == "ada"
    assert me["org"]["slug"] == cli_org.slug
    assert me["server"] == admin.server


def test_login_asks_for_the_token_when_not_given(cli_org: CliOrg, config_dir: Path) -> None:
    code, _, err = run("login", "--server", cli_org.admin.server, input=cli_org.admin.token + "\n")
    assert code == 0, err
    assert run("whoami", "--query", "user.handle")[1] == "ada\n"


def test_login_with_a_bad_token_saves_nothing(cli_org: CliOrg, config_dir: Path) -> None:
    code, _, err = run("login", "--server", cli_org.admin.server, "--token", "nope")
    assert code == 1
    assert err.startswith("error: Unauthorized: the API token is not valid")
    assert not (config_dir / "config.json").exists()


def test_profiles_can_be_named_chosen_and_forgotten(cli_org: CliOrg, config_dir: Path) -> None:
    agent = cli_org.add_member("Bob")
    assert run("login", "--server", agent.server, "--token", agent.token, "--profile", "bob")[0] == 0
    assert run("login", "--server", cli_org.admin.server, "--token", cli_org.admin.token)[0] == 0
    assert run("whoami", "--query", "user.handle")[1] == "ada\n"
    assert run("--profile", "bob", "whoami", "--query", "user.handle")[1] == "bob\n"
    assert run("whoami", "--profile", "bob", "--query", "user.handle")[1] == "bob\n"
    assert run("logout", "--profile", "bob")[0] == 0
    code, _, err = run("whoami", "--profile", "bob")
    assert code == 1
    assert "no saved profile 'bob'" in err


def test_options_beat_environment_beat_profile(pfai: Pfai, cli_org: CliOrg) -> None:
    bob = cli_org.add_member("Bob")
    assert ok(pfai("whoami", "--query", "user.handle")) == "ada\n"
    assert ok(pfai("whoami", "--token", bob.token, "--query", "user.handle")) == "bob\n"
    assert ok(pfai("--token", bob.token, "whoami", "--query", "user.handle")) == "bob\n"


def test_a_saved_token_is_not_sent_to_another_server(cli_org: CliOrg, config_dir: Path) -> None:
    assert run("login", "--server", cli_org.admin.server, "--token", cli_org.admin.token)[0] == 0
    code, _, err = run("whoami", "--server", "http://127.0.0.1:9")
    assert code == 2
    assert "no API token for http://127.0.0.1:9" in err


def test_without_a_server_it_says_how_to_give_one(config_dir: Path) -> None:
    code, _, err = run("ticket", "list")
    assert code == 2
    assert "no server given" in err
    assert "pfai login" in err


def test_an_unreachable_server_is_named_in_one_line(config_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe socket is closed.
    code, out, err = run("ticket", "view", "1", "--server", f"http://127.0.0.1:{port}", "--token", "t")
    assert code == 3
    assert out == ""
    assert err.startswith(f"error: could not reach the server at http://127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_a_server_url_needs_a_scheme(config_dir: Path) -> None:
    code, _, err = run("whoami", "--server", "localhost:8000", "--token", "t")
    assert code == 2
    assert "must start with http:// or https://" in err


def test_server_errors_are_one_line_with_title_and_detail(pfai: Pfai) -> None:
    result = pfai("ticket", "view", "999")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: Not Found: ticket #999 not found\n"
    bad = pfai("--token", "wrong", "whoami")
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: Unauthorized: the API token is not valid (check --token")


def test_a_viewer_is_refused_with_the_servers_reason(pfai: Pfai, cli_org: CliOrg) -> None:
    viewer = cli_org.add_member("Vic", role="viewer")
    result = pfai("tag", "create", "regression", as_=viewer)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Forbidden: ")
    assert ok_json(pfai("tag", "ls", "-o", "json", as_=viewer)) == []
