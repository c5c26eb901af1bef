"""One check for every route: a query parameter the route does not declare is a 400, not silently ignored.

The accepted names come from Litestar's own model of each handler (`KwargsModel.expected_query_params`,
which also holds the query parameters of the handler's dependencies), so a new parameter is accepted as
soon as a handler declares it.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.exceptions import ValidationException
from litestar.routes import HTTPRoute


def accepted_query_parameters(app: Litestar) -> dict[int, frozenset[str]]:
    """The query parameter names of every HTTP route handler of `app`, by the handler's id."""
    accepted: dict[int, frozenset[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, kwargs_model in route.route_handler_map.values():
                names = frozenset(p.field_alias for p in kwargs_model.expected_query_params)
                accepted[id(handler)] = accepted.get(id(handler), frozenset()) | names
    return accepted


class RejectUnknownQueryParameters:
    """A `before_request` hook: 400 naming the unknown parameters and the accepted ones."""

    def __init__(self) -> None:
        self._accepted: dict[int, frozenset[str]] | None = None

    def __call__(self, request: Request[Any, Any, Any]) -> None:
        if not request.query_params:
            return
        if self._accepted is None:  # the routes are fixed once the app serves requests
            self._accepted = accepted_query_parameters(request.app)
        accepted = self._accepted.get(id(request.route_handler), frozenset())
        unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in accepted]
        if unknown:
            expected = ", ".join(sorted(accepted)) if accepted else "none"
            raise ValidationException(
                detail="unknown query parameter",
                extra=[
                    {
                        "key": name,
                        "message": f"unknown query parameter; accepted: {expected}",
                        "source": "query",
                    }
                    for name in unknown
                ],
            )
