"""Who is acting, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tickets.domain.errors import ForbiddenError
from tickets.domain.values import Role

_RANK = {Role.VIEWER: 0, Role.AGENT: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Actor:
    """An authenticated member of one org.

    `ticket_id` set: the token is scoped to that one ticket (an agent's dispatch token): every other
    ticket is as missing, and nothing org-wide (lists, settings, members) answers it.
    """

    user_id: UUID
    org_id: UUID
    role: Role
    ticket_id: UUID | None = None
    # An integration token's scopes (e.g. `events:read`); empty for a member's own token.
    scopes: tuple[str, ...] = ()

    @property
    def org_wide(self) -> bool:
        return self.ticket_id is None

    def require_org_wide(self) -> None:
        """Raise ForbiddenError for a token scoped to one ticket."""
        if self.ticket_id is not None:
            raise ForbiddenError(
                "this token is scoped to one ticket: it can read and change that ticket only"
            )

    def has(self, role: Role) -> bool:
        """True when the actor's role is at least `role`."""
        return _RANK[self.role] >= _RANK[role]

    def require(self, role: Role) -> None:
        """Raise ForbiddenError unless the actor's role is at least `role`."""
        if _RANK[self.role] < _RANK[role]:
            raise ForbiddenError(f"this needs the {role.value} role; you are {self.role.value}")
