"""Query values mean what the OpenAPI description says, on every route.

- A query parameter the route does not declare is a 400, not silently ignored. The accepted
  names come from Litestar's own model of each handler (`KwargsModel.expected_query_params`,
  which also holds the query parameters of the handler's dependencies), so a new parameter is
  accepted as soon as a handler declares it.
- `null` is not a value of a typed parameter (`?teamId=null` is a 400, not "not sent").
"""

from __future__ import annotations

from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Litestar, Request
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute

NULL = "null"


def refuse_null_query_values(request: Request[Any, Any, Any]) -> None:
    """400 for `?teamId=null`: Litestar's lax conversion would read it as "not sent".

    The description types such a parameter as a UUID, an integer, a boolean...; `null` is none of
    those. Text parameters (`q`, `tag`) keep `null` as the text it is.
    """
    query = request.query_params
    if not any(NULL in query.getall(key) for key in query):
        return
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if not isinstance(kwarg, ParameterKwarg) or kwarg.header or kwarg.cookie:
            continue  # only query parameters: every one of them is declared with QueryParameter
        key = kwarg.query or kwarg.name or name
        if NULL in query.getall(key, []) and not _accepts_text_null(field.annotation):
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


def _accepts_text_null(annotation: Any) -> bool:
    """Whether the literal text `null` is a value of the type (its None alternative aside)."""
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    for option in options:
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
