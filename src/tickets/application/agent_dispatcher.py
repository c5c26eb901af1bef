"""The agent dispatcher: a policy that runs each agent dispatch once, and records how it ended.

It follows the log through the agent queue read model (`projections/agent_queue.py`), which lists
the dispatches due: new (`Ticket.AgentDispatched`), a retry whose time has come, a claim whose
server died, an external agent whose time to report ran out. For each it first *claims* the run
on its `AgentRun` aggregate (id derived from the dispatch id), saved before anything runs, so two
servers never run one dispatch together and a claim left by a crash is taken over after its lease.

- A built-in agent (`triage`) runs in-process; its changes, its note, the ticket's
  `AgentCompleted` and the run's end are one save: they happen once, or (after a crash) again
  from the start after the lease.
- An external agent gets a signed POST (`infrastructure/agent_http.py`) with the ticket, the
  instruction and a token for this ticket only, issued with the claim. It acts through the API
  and reports `POST /tickets/{id}/agent-dispatches/{dispatchId}/complete`, which ends the run and
  revokes the tokens (`TicketService.complete_dispatch`). Timeouts and 5xx are retried
  (`MAX_DISPATCH_ATTEMPTS`, 1 and 2 minutes apart); then, or on another 4xx, `AgentFailed`. An
  agent that took the dispatch and never reports fails when its token expires. The POST is
  at least once (a crash after it and before its record posts again after the lease, with the
  same `webhook-id`); what the log records is exactly once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from tickets.application.app import TicketsApp, retry_on_conflict
from tickets.application.directory import DirectoryService
from tickets.application.triage import Triage, TriageDecision
from tickets.domain.agents import DISPATCH_LEASE, DISPATCH_TOKEN_LIFETIME, AgentRun
from tickets.domain.errors import DomainError
from tickets.domain.organization import Member, Organization
from tickets.domain.registry import ApiToken
from tickets.domain.ticket import Ticket
from tickets.domain.values import Status
from tickets.infrastructure.agent_http import DispatchDeliveryError, DispatchTransport, signed_post
from tickets.infrastructure.clock import Clock, system_clock

logger = logging.getLogger("tickets.agents")


class Dispatch(Protocol):
    """A dispatch the agent queue says is due (`projections.agent_queue.QueuedDispatch`)."""

    @property
    def dispatch_id(self) -> str: ...
    @property
    def ticket_id(self) -> str: ...
    @property
    def agent_id(self) -> str: ...
    @property
    def instruction(self) -> str: ...
    @property
    def source(self) -> str: ...


# (now, limit) -> the dispatches due by `now`.
DispatchesDue = Callable[[datetime, int], Iterable[Dispatch]]


class AgentDispatcher:
    """Runs due dispatches; `run_due` is what the follower schedules."""

    def __init__(
        self,
        app: TicketsApp,
        directory: DirectoryService,
        triage: Triage,
        transport: DispatchTransport,
        public_url: str = "http://127.0.0.1:8000",
        clock: Clock = system_clock,
    ) -> None:
        self.app = app
        self.directory = directory
        self.triage = triage
        self.transport = transport
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    def run_due(self, due: DispatchesDue, limit: int = 50) -> int:
        """Run (or look again at) the dispatches due now; how many ended or were handed over."""
        now = self.clock()
        return sum(
            self.run(dispatch, now) in ("completed", "failed", "delivered") for dispatch in due(now, limit)
        )

    def run(self, dispatch: Dispatch, now: datetime) -> str:
        """One step of one dispatch: 'completed', 'failed', 'delivered', 'retrying' or 'skipped'."""
        dispatch_id = UUID(dispatch.dispatch_id)
        run = self._run(dispatch_id)
        if run is not None and run.report_overdue(now):
            return self._end(dispatch_id, "failed", "the agent did not report before its token expired")
        org, ticket = self._org_and_ticket(dispatch)
        agent = org.members.get(dispatch.agent_id) if org is not None else None
        claimed = self._claim(dispatch, run, org, agent, now)
        if claimed is None:
            return "skipped"
        run, token = claimed
        if org is None or ticket is None or agent is None or not agent.is_agent:
            return self._end(dispatch_id, "failed", "the ticket or the agent is gone")
        if agent.behaviour == "triage":
            return self._triage(dispatch_id, org, ticket, agent)
        return self._post(dispatch, run, org, ticket, agent, token)

    # ------------------------------------------------------------------ claim

    def _run(self, dispatch_id: UUID) -> AgentRun | None:
        try:
            run: AgentRun = self.app.repository.get(AgentRun.create_id(dispatch_id))
        except AggregateNotFoundError:
            return None
        return run

    def _org_and_ticket(self, dispatch: Dispatch) -> tuple[Organization | None, Ticket | None]:
        try:
            ticket: object = self.app.repository.get(UUID(dispatch.ticket_id))
        except AggregateNotFoundError:
            return None, None
        if not isinstance(ticket, Ticket):
            return None, None
        org = self.directory.org(ticket.org_id)
        return org, None if ticket.deleted else ticket

    def _claim(
        self,
        dispatch: Dispatch,
        run: AgentRun | None,
        org: Organization | None,
        agent: Member | None,
        now: datetime,
    ) -> tuple[AgentRun, str | None] | None:
        """Claim the next attempt (saved before anything runs), with a token for an external agent;
        None if the run is finished, held by another server, or not due."""
        token, issued = None, []
        if org is not None and agent is not None and agent.dispatch_url is not None:
            token, minted = self.directory.ticket_token(
                org.id, agent.id, UUID(dispatch.ticket_id), now + DISPATCH_TOKEN_LIFETIME
            )
            issued = [minted]
        token_ids = [t.id for t in issued]
        if run is None:
            if org is None:
                return None
            run = AgentRun(
                dispatch_id=UUID(dispatch.dispatch_id),
                org_id=org.id,
                ticket_id=UUID(dispatch.ticket_id),
                agent_id=UUID(dispatch.agent_id),
                lease_until=now + DISPATCH_LEASE,
                token_ids=token_ids,
                timestamp=now,
            )
        elif not run.claim(now, token_ids):
            return None
        try:
            self.app.save(run, *issued)
        except IntegrityError:
            return None  # another server claimed this attempt first
        return run, token

    # ------------------------------------------------------------------ built-in

    def _triage(self, dispatch_id: UUID, org: Organization, ticket: Ticket, agent: Member) -> str:
        try:
            decision = self.triage.decide(org, ticket)
        except Exception as error:  # a broken model must not stall the queue: the dispatch fails, visibly
            logger.exception("triage of ticket %s failed", ticket.id)
            return self._end(dispatch_id, "failed", f"triage failed: {error}")
        return self._end(
            dispatch_id, "completed", decision.summary or "nothing to change", decision, agent.id
        )

    @staticmethod
    def _apply(
        decision: TriageDecision, ticket: Ticket, org: Organization, agent_id: UUID, now: datetime
    ) -> None:
        """The triage agent's changes and note, as the agent (a ticket closed meanwhile takes none)."""
        if ticket.deleted or ticket.status == Status.CLOSED:
            return
        if decision.category is not None:
            ticket.change_category(decision.category, agent_id, now)
        if decision.priority is not None:
            targets = org.sla_targets_for(decision.priority, ticket.team_id)
            ticket.change_priority(decision.priority, targets, agent_id, now)
        ticket.add_message(uuid4(), agent_id, decision.note, True, [], now)

    # ------------------------------------------------------------------ external

    def _post(
        self,
        dispatch: Dispatch,
        run: AgentRun,
        org: Organization,
        ticket: Ticket,
        agent: Member,
        token: str | None,
    ) -> str:
        dispatch_id = UUID(dispatch.dispatch_id)
        secret = self.directory.agent_secret(agent.id)
        if secret is None or agent.dispatch_url is None or token is None:
            return self._end(dispatch_id, "failed", "the agent has no dispatch URL or secret")
        now = self.clock()
        ticket_url = f"{self.public_url}/api/v1/tickets/{ticket.id}"
        body = {
            "type": "agent.dispatched",
            "dispatchId": str(dispatch_id),
            "instruction": dispatch.instruction,
            "source": dispatch.source,
            "agent": {"id": str(agent.id), "handle": agent.handle},
            "org": {"id": str(org.id), "slug": org.slug},
            "ticket": {
                "id": str(ticket.id),
                "number": ticket.ticket_number,
                "subject": ticket.subject,
                "description": ticket.description,
                "status": ticket.status.value,
                "priority": ticket.priority.value,
                "category": ticket.category.value,
                "url": ticket_url,
            },
            "token": token,
            "tokenExpiresAt": (now + DISPATCH_TOKEN_LIFETIME).isoformat(),
            "completeUrl": f"{ticket_url}/agent-dispatches/{dispatch_id}/complete",
        }
        request = signed_post(
            agent.dispatch_url, secret, f"dispatch_{dispatch_id}", now, json.dumps(body).encode()
        )
        try:
            self.transport.post(request)
        except DispatchDeliveryError as error:
            logger.warning("dispatch %s to @%s: %s", dispatch_id, agent.handle, error)
            return self._failed_attempt(dispatch_id, str(error), error.permanent)
        return self._delivered(dispatch_id, run)

    def _delivered(self, dispatch_id: UUID, claimed: AgentRun) -> str:
        """The agent took the dispatch: it has until its newest token expires to report (it may have
        reported already, while answering the POST)."""

        def attempt() -> str:
            run = self._run(dispatch_id)
            if run is None or run.finished:
                return "completed" if run is not None and run.outcome == "completed" else "failed"
            token: ApiToken = self.app.repository.get(run.token_ids[-1])
            run.delivered(report_by=token.expires_at or self.clock(), timestamp=self.clock())
            self.app.save(run)
            return "delivered"

        return retry_on_conflict(attempt)

    def _failed_attempt(self, dispatch_id: UUID, error: str, permanent: bool) -> str:
        def attempt() -> str:
            run = self._run(dispatch_id)
            if run is None or run.finished:
                return "skipped"
            if not run.fail(error, self.clock(), give_up=permanent):
                self.app.save(run)
                return "retrying"
            return self._record(run, "failed", f"the agent could not be reached: {error}", None, None)

        return retry_on_conflict(attempt)

    # ------------------------------------------------------------------ record

    def _end(
        self,
        dispatch_id: UUID,
        outcome: str,
        summary: str,
        decision: TriageDecision | None = None,
        agent_id: UUID | None = None,
    ) -> str:
        """The dispatch's outcome, on the run and on its ticket (with a built-in agent's changes), in one save."""

        def attempt() -> str:
            run = self._run(dispatch_id)
            if run is None or run.finished:
                return "skipped"
            return self._record(run, outcome, summary, decision, agent_id)

        result = retry_on_conflict(attempt)
        logger.info("dispatch %s: %s (%s)", dispatch_id, result, summary)
        return result

    def _record(
        self,
        run: AgentRun,
        outcome: str,
        summary: str,
        decision: TriageDecision | None,
        agent_id: UUID | None,
    ) -> str:
        now = self.clock()
        run.finish(outcome, summary[:500], now)
        extra: list[Any] = [*self.directory.revoked_tokens(run.token_ids)]
        try:
            ticket: object = self.app.repository.get(run.ticket_id)
        except AggregateNotFoundError:
            ticket = None
        if isinstance(ticket, Ticket) and ticket.dispatch_open(run.dispatch_id):
            if decision is not None and agent_id is not None:
                try:
                    self._apply(decision, ticket, self.directory.org(ticket.org_id), agent_id, now)
                except DomainError as refused:  # the ticket changed meanwhile: say so, change nothing
                    outcome, summary = "failed", f"could not apply: {refused}"
                    ticket = self.app.repository.get(run.ticket_id)
                    assert isinstance(ticket, Ticket)
            ticket.record_agent_outcome(run.dispatch_id, outcome, summary, agent_id, now)
            extra.append(ticket)
        self.app.save(run, *extra)
        return outcome


__all__ = ["AgentDispatcher", "Dispatch", "DispatchesDue"]
