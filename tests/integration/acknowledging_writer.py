"""A server's worth of writers for the kill -9 test: threads post messages and create tickets
through the service, and print each write once it is acknowledged (after its commit).

Run: python -m tests.integration.acknowledging_writer DATABASE_URL TOKEN TICKET_ID...
"""

from __future__ import annotations

import sys
import threading

from tickets.bootstrap import build_services
from tickets.domain.commands import NewTicket
from tickets.infrastructure.settings import Settings

THREADS = 8


def main() -> None:
    url, token, *ticket_ids = sys.argv[1:]
    services = build_services(Settings(url))
    actor = services.directory.authenticate(token)
    assert actor is not None
    printing = threading.Lock()

    def acknowledge(line: str) -> None:
        with printing:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def write(worker: int) -> None:
        for i in range(1_000_000):
            if i % 4 == 0:
                ticket = services.tickets.create(actor, NewTicket(subject=f"w{worker}-{i}")).value
                acknowledge(f"ticket {ticket.id} {ticket.ticket_number}")
            else:
                ref = ticket_ids[(worker + i) % len(ticket_ids)]
                message = services.tickets.add_message(actor, ref, f"w{worker}-{i}", False).value
                acknowledge(f"message {ref} {message.id}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    acknowledge("started")
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
