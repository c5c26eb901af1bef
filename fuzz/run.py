"""`make fuzz`: schemathesis (every check) over the whole OpenAPI description, on SQLite and PostgreSQL.

For each store: a fresh store (a new SQLite file; a new PostgreSQL database, dropped afterwards),
an org with an admin, an agent and a viewer (and a little data to find) and a contact signed in to
the portal, a real server process (`pfai serve` on a free port), then one schemathesis run per role:
members with their bearer token, the contact with its session cookie and CSRF token.

    python -m fuzz.run                         # both stores, the long run
    python -m fuzz.run --store sqlite --max-examples 10 --seed 7

Exit status 0 only when every run reported no failure. PostgreSQL must be reachable
(TICKETS_TEST_PG_DSN, as for the tests): a missing server is an error, never a skip.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tickets.api.controllers.portal import CSRF_HEADER, csrf_for
from tickets.application.attachments import IncomingFile
from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket
from tickets.domain.values import Priority, Role
from tickets.infrastructure.settings import Settings

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
BIN = Path(sys.executable).parent
PG_ADMIN_DSN = os.environ.get("TICKETS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Credentials:
    """How a role authenticates: headers to send, and settings for the config file (the contact's
    session is the schema's `portalSession` cookie scheme, so schemathesis knows when it leaves it out)."""

    headers: list[str]
    config: str = ""


@dataclass
class Tokens:
    admin: Credentials
    agent: Credentials
    viewer: Credentials
    contact: Credentials


@dataclass
class RunResult:
    store: str
    role: str
    exit_code: int
    failures: Counter[str]
    summary: str


@contextlib.contextmanager
def sqlite_store() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pfai-fuzz-") as directory:
        yield f"sqlite:///{Path(directory) / 'tickets.db'}"


@contextlib.contextmanager
def postgres_store() -> Iterator[str]:
    name = f"tickets_fuzz_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(database_url: str) -> Tokens:
    """An org with one member per role, and something of each kind for the fuzzer to find."""
    services = build_services(Settings(database_url))
    try:
        directory, tickets = services.directory, services.tickets
        org = directory.create_org("fuzz", "Fuzz Org", "admin@fuzz.test", "Ada Admin")
        agent = directory.create_user(org.org_id, "agent@fuzz.test", "Al Agent", Role.AGENT)
        viewer = directory.create_user(org.org_id, "viewer@fuzz.test", "Vi Viewer", Role.VIEWER)
        admin = directory.authenticate(org.token)
        assert admin is not None
        team = directory.create_team(admin, "Support", "Front line").value
        directory.create_tag(admin, "vip", "#22c55e", None)
        directory.create_sla_policy(admin, Priority.URGENT, 60, 480, None)
        directory.create_canned_response(admin, "Thanks", "Thanks for writing!", team.id)
        ticket = tickets.create(admin, NewTicket(subject="Login broken", description="SSO fails")).value
        screenshot = IncomingFile("screenshot.txt", "text/plain", io.BytesIO(b"the SSO error page"))
        (attachment,) = services.attachments.upload(admin, str(ticket.id), [screenshot]).value
        tickets.add_message(admin, str(ticket.id), "We are on it", False, [attachment.id])
        # A contact with a ticket of their own and a portal session, for the portal's JSON twin.
        cara = services.contacts.create(admin, "cara@fuzz.test", "Cara Contact").value
        tickets.create(admin, NewTicket(subject="Printer jam", contact_email=cara.email))
        link = services.contacts.issue_link(admin, cara.id).value
        session = services.contacts.redeem_link(link.token)
        portal = Credentials(
            [f"{CSRF_HEADER}: {csrf_for(session.token)}"],
            f'\n[auth.openapi.portalSession]\napi_key = "{session.token}"\n'
            # schemathesis 4.32 puts the session cookie back into the cases that leave it out to test
            # that a request without it is refused, and reports the 200 that follows; those cases are
            # the tests' (tests/api/test_portal.py: no session, 401). Every other check runs.
            "\n[checks.negative_data_rejection]\nenabled = false\n",
        )
        bearer = [Credentials([f"Authorization: Bearer {t}"]) for t in (org.token, agent.token, viewer.token)]
        return Tokens(admin=bearer[0], agent=bearer[1], viewer=bearer[2], contact=portal)
    finally:
        if services.read_side is not None:
            services.read_side.close()
        services.app.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def server(database_url: str, log: Path) -> Iterator[str]:
    """`pfai serve` in its own process; yields its base URL once /health answers."""
    port = free_port()
    env = {**os.environ, "TICKETS_DATABASE_URL": database_url}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BIN / "pfai"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within 30 s; see {log}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def schemathesis(url: str, role: Credentials, args: argparse.Namespace, report: Path) -> tuple[int, str]:
    config = CONFIG
    if role.config:
        config = report.with_suffix(".toml")
        config.write_text(CONFIG.read_text() + role.config)
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{url}/schema/openapi.json",
        "--checks",
        "all",
        *[option for header in role.headers for option in ("--header", header)],
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--generation-database",
        "none",
        "--no-color",
    ]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def failures_by_check(report: Path) -> Counter[str]:
    """Distinct failures per check, from schemathesis' ndjson event log."""
    found: set[tuple[str, str, str]] = set()
    if not report.exists():
        return Counter()
    for line in report.read_text().splitlines():
        _collect(json.loads(line), found)
    return Counter(check for check, _, _ in found)


def _collect(node: object, found: set[tuple[str, str, str]]) -> None:
    # Check results carry a name, a status and (for failures) a title and a code; the layout of the
    # surrounding events may change between releases, so look for them anywhere.
    if isinstance(node, dict):
        failure = node.get("failure_info") or node.get("failure")
        if isinstance(node.get("name"), str) and node.get("status") == "failure":
            detail = json.dumps(failure, sort_keys=True, default=str)[:500] if failure else ""
            found.add((node["name"], str(node.get("code", "")), detail))
        for value in node.values():
            _collect(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect(value, found)


def fuzz_store(store: str, args: argparse.Namespace, out: Path) -> list[RunResult]:
    results: list[RunResult] = []
    opened = sqlite_store() if store == "sqlite" else postgres_store()
    with opened as database_url:
        tokens = seed(database_url)
        with server(database_url, out / f"{store}-server.log") as url:
            for role in args.roles:
                report = out / f"{store}-{role}.ndjson"
                code, text = schemathesis(url, getattr(tokens, role), args, report)
                (out / f"{store}-{role}.txt").write_text(text)
                summary = "\n".join(text.strip().splitlines()[-3:])
                results.append(RunResult(store, role, code, failures_by_check(report), summary))
                print(
                    f"[{store}/{role}] exit {code}: {summary.splitlines()[-1] if summary else ''}", flush=True
                )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument(
        "--roles",
        nargs="+",
        choices=["admin", "agent", "viewer", "contact"],
        default=["admin", "agent", "viewer", "contact"],
    )
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--max-time", type=int, default=0, help="seconds per schemathesis run (0: no limit)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="1: CPython 3.11.7 ast.parse is not thread-safe under hypothesis",
    )
    parser.add_argument("--out", type=Path, default=Path("var/fuzz"), help="logs and reports")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stores = ["sqlite", "postgres"] if args.store == "all" else [args.store]
    results = [result for store in stores for result in fuzz_store(store, args, args.out)]
    print("\nfuzz results (distinct failures by check):")
    for result in results:
        counts = ", ".join(f"{check}={n}" for check, n in sorted(result.failures.items())) or "no failures"
        print(f"  {result.store:8} {result.role:6} exit {result.exit_code}: {counts}")
    print(f"reports: {args.out}/")
    return 0 if all(r.exit_code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
