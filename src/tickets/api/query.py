"""Query values mean what the OpenAPI description says: `null` is not a value of a typed parameter."""

from __future__ import annotations

from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import ParameterKwarg

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
