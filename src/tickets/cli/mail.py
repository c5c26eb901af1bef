"""`pfai mail`: the email channel's server side: the SMTP intake on its own, and importing mail."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType

import click
from eventsourcing.application import AggregateNotFoundError

from tickets.cli.client import CliError
from tickets.cli.options import examples
from tickets.cli.store import store
from tickets.domain.registry import OrgSlug


@click.group()
@examples(
    "pfai mail receive --port 2525",
    "pfai mail import ./exported-mail/ --org acme",
)
def mail() -> None:
    """Receive mail over SMTP, or import it from files, on the store (TICKETS_DATABASE_URL)."""


@mail.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=2525, show_default=True, type=click.IntRange(1, 65535), help="SMTP port.")
@examples("pfai mail receive --port 2525", "swaks --server 127.0.0.1:2525 --to acme@tickets.localhost")
def receive(host: str, port: int) -> None:
    """Run the SMTP intake alone: mail to <org slug>@<TICKETS_MAIL_DOMAIN> (or an org's extra
    addresses) becomes tickets and replies; any other address is refused. Ctrl-C stops."""
    from tickets.mail.server import SmtpIntake

    with store() as services:
        intake = SmtpIntake(services.mail, host, port).start()
        stopped = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopped.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(
            f"SMTP intake on {host}:{intake.port} for *@{services.mail_settings.domain}; Ctrl-C stops",
            err=True,
        )
        stopped.wait()
        intake.stop()


@mail.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--org", "slug", required=True, help="Slug of the org the mail was sent to.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@examples(
    "pfai mail import message.eml --org acme",
    "pfai mail import ./maildir-export/ --org acme",
    "pfai mail import support.mbox --org acme --json",
)
def import_(path: Path, slug: str, as_json: bool) -> None:
    """Import mail from PATH: an .eml file, a directory of them, or an mbox file. Each mail is taken
    as if it had arrived at the org's address (new tickets, replies; duplicates and auto-replies
    make nothing), so importing the same mail twice changes nothing."""
    from tickets.application.mail_intake import MailRoute
    from tickets.mail.parsing import count_mails, parse_mail, read_mailbox

    with store() as services:
        try:
            registered: OrgSlug = services.app.repository.get(OrgSlug.create_id(slug))
        except AggregateNotFoundError:
            raise CliError(f"no org with the slug {slug!r}") from None
        org_id = registered.org_id
        route = MailRoute(f"{slug}@{services.mail_settings.domain}", org_id)
        try:
            total = count_mails(path)
            mails = read_mailbox(path)
        except ValueError as error:
            raise CliError(str(error)) from None
        counts: Counter[str] = Counter()
        with click.progressbar(mails, length=total, label="importing", file=sys.stderr) as bar:
            for raw in bar:
                counts[
                    services.mail.receive(route, parse_mail(raw, [services.mail_settings.domain])).outcome
                ] += 1
    if as_json:
        click.echo(json.dumps(dict(counts)))
    else:
        click.echo(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no mail found")
