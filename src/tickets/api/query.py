"""Query values mean what the OpenAPI description says, on every route.

- A query parameter the route does not declare is a 400, not silently ignored. The accepted
  names come from Litestar's own model of each handler (`KwargsModel.expected_query_params`,
  which also holds the query parameters of the handler's dependencies), so a new parameter is
  accepted as soon as a handler declares it.
- `null` is not a value of a typed parameter (`?teamId=null` is a 400, not "not sent").
- A time is RFC 3339 with an offset (`?asOf=0.5` or a time without a zone is a 400).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Litestar, Request
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute

NULL = "null"
# An RFC 3339 date-time, offset included: what `format: date-time` promises clients.
RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _query_parameters(request: Request[Any, Any, Any]) -> Iterator[tuple[str, Any]]:
    """The route's query parameters: (name in the query, annotation)."""
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and not kwarg.header and not kwarg.cookie:
            # Every query parameter of this API is declared with QueryParameter.
            yield kwarg.query or kwarg.name or name, field.annotation


def refuse_lax_times(request: Request[Any, Any, Any]) -> None:
    """400 for a time that is not RFC 3339 with an offset: Litestar would also read `0.5` (a Unix
    time) or a local time without a zone, neither of which the description allows."""
    for key, annotation in _query_parameters(request):
        if datetime in _options(annotation):
            for value in request.query_params.getall(key, []):
                if not RFC_3339.match(value):
                    raise ValidationException(
                        detail=f"{key}: an RFC 3339 time needs an offset, e.g. 2026-01-05T09:00:00Z",
                        extra=[
                            {
                                "key": key,
                                "message": "an RFC 3339 time needs an offset, e.g. 2026-01-05T09:00:00Z",
                                "source": "query",
                            }
                        ],
                    )


def refuse_null_query_values(request: Request[Any, Any, Any]) -> None:
    """400 for `?teamId=null`: Litestar's lax conversion would read it as "not sent".

    The description types such a parameter as a UUID, an integer, a boolean...; `null` is none of
    those. Text parameters (`q`, `tag`) keep `null` as the text it is.
    """
    query = request.query_params
    if not any(NULL in query.getall(key) for key in query):
        return
    for key, annotation in _query_parameters(request):
        if NULL in query.getall(key, []) and not _accepts_text_null(annotation):
            raise ValidationException(
                detail=f"{key}: 'null' is not a value of this parameter; leave it out instead",
                extra=[
                    {
                        "key": key,
                        "message": "leave the parameter out instead of sending null",
                        "source": "query",
                    }
                ],
            )


def _options(annotation: Any) -> tuple[Any, ...]:
    return get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)


def _accepts_text_null(annotation: Any) -> bool:
    """Whether the literal text `null` is a value of the type (its None alternative aside)."""
    for option in _options(annotation):
        if option is NoneType:
            continue
        value: Any = [NULL] if get_origin(option) is list else NULL
        try:
            msgspec.convert(value, option, strict=False)
        except (msgspec.ValidationError, TypeError):
            continue
        return True
    return False


def accepted_query_parameters(app: Litestar) -> dict[int, frozenset[str]]:
    """The query parameter names of every HTTP route handler of `app`, by the handler's id."""
    accepted: dict[int, frozenset[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, kwargs_model in route.route_handler_map.values():
                names = frozenset(p.field_alias for p in kwargs_model.expected_query_params)
                accepted[id(handler)] = accepted.get(id(handler), frozenset()) | names
    return accepted


class CheckQueryParameters:
    """The `before_request` hook: 400 naming unknown parameters (and the accepted ones), or a `null`."""

    def __init__(self) -> None:
        self._accepted: dict[int, frozenset[str]] | None = None

    def __call__(self, request: Request[Any, Any, Any]) -> None:
        if not request.query_params:
            return
        self._refuse_unknown(request)
        refuse_null_query_values(request)
        refuse_lax_times(request)

    def _refuse_unknown(self, request: Request[Any, Any, Any]) -> None:
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
