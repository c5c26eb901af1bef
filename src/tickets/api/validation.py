"""Validation errors in plain words: `subject: must not be blank`, `limit: must be between 1 and 200`.

msgspec and Litestar describe a failed check in their own terms (``Expected `str` matching regex
'\\S'``). The problem handler passes each error through `plain_error`, which rewrites the known
messages using the constraints the route declares (its query parameters and its body's Struct), so
the answer names the rule that was broken. Messages it does not know pass through unchanged.
"""

from __future__ import annotations

import enum
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

from tickets.api.schemas import PATTERN_MEANINGS

TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
    "uuid": "a UUID",
    "datetime": "an RFC 3339 time",
}


@dataclass(frozen=True)
class Limits:
    """The declared constraints of one field or parameter (None: not constrained)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] = ()


def _enum_values(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(m.value) for m in annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        if found := _enum_values(arg):
            return found
    return ()


def _type_limits(info: Any) -> Limits:
    """Limits of a msgspec.inspect type (the first constrained member of a union)."""
    if isinstance(info, msgspec.inspect.Metadata):
        return _type_limits(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        for member in info.types:
            found = _type_limits(member)
            if found != Limits():
                return found
        return Limits()
    if isinstance(info, msgspec.inspect.EnumType):
        return Limits(choices=tuple(str(m.value) for m in info.cls))
    if isinstance(info, msgspec.inspect.LiteralType):
        return Limits(choices=tuple(str(v) for v in info.values))
    if isinstance(info, (msgspec.inspect.IntType, msgspec.inspect.FloatType)):
        return Limits(ge=info.ge, gt=info.gt, le=info.le, lt=info.lt)
    return Limits()


def _declared_parameters(request: Request[Any, Any, Any]) -> dict[str, FieldDefinition]:
    """The parameters of the route's handler and of its dependencies (e.g. `limit` of `paging`)."""
    handler = request.route_handler
    parameters: dict[str, FieldDefinition] = {}
    for provide in handler.resolve_dependencies().values():
        signature = getattr(provide, "parsed_fn_signature", None)
        if signature is not None:
            parameters.update(signature.parameters)
    parameters.update(handler.parsed_fn_signature.parameters)
    return parameters


def field_limits(request: Request[Any, Any, Any], source: str | None, key: str) -> Limits:
    """What the route handling `request` declares for the query/header parameter or body field `key`."""
    parameters = _declared_parameters(request)
    if source == "body":
        body = parameters.get("data")
        if body is None or not (
            isinstance(body.annotation, type) and issubclass(body.annotation, msgspec.Struct)
        ):
            return Limits()
        info = msgspec.inspect.type_info(body.annotation)
        assert isinstance(info, msgspec.inspect.StructType)
        name = key.split("[", 1)[0]
        field = next((f for f in info.fields if f.encode_name == name), None)
        return _type_limits(field.type) if field else Limits()
    for name, definition in parameters.items():
        kwarg = definition.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and (kwarg.name or name) == key:
            return Limits(
                ge=kwarg.ge,
                gt=kwarg.gt,
                le=kwarg.le,
                lt=kwarg.lt,
                choices=_enum_values(definition.annotation),
            )
    return Limits()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bounds(match: re.Match[str], limits: Limits) -> str:
    integer = match["type"] == "int"
    lower = (
        limits.ge if limits.ge is not None else (limits.gt + 1 if integer and limits.gt is not None else None)
    )
    upper = (
        limits.le if limits.le is not None else (limits.lt - 1 if integer and limits.lt is not None else None)
    )
    if lower is not None and upper is not None:
        return f"must be between {_number(lower)} and {_number(upper)}"
    words = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}
    return f"must be {words[match['op']]} {match['bound']}"


def _length(match: re.Match[str], limits: Limits) -> str:
    unit = "characters" if match["type"] == "str" else "items"
    if match["op"] == ">=":
        return (
            "must not be empty"
            if match["bound"] in ("0", "1")
            else f"must have at least {match['bound']} {unit}"
        )
    return f"must have at most {match['bound']} {unit}"


def _pattern(match: re.Match[str], limits: Limits) -> str:
    for pattern, meaning in PATTERN_MEANINGS.items():
        if repr(pattern) == match["pattern"]:
            return meaning
    return f"must match the pattern {match['pattern']}"


def _wrong_type(match: re.Match[str], limits: Limits) -> str:
    expected = " or ".join(TYPE_NAMES.get(t.strip(), t.strip()) for t in match["expected"].split("|"))
    return f"must be {expected}, not {TYPE_NAMES.get(match['got'], match['got'])}"


def _enum(match: re.Match[str], limits: Limits) -> str:
    if limits.choices:
        return f"{match['value']} is not one of: {', '.join(limits.choices)}"
    return f"{match['value']} is not an accepted value"


RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str], Limits], str]]] = [
    (re.compile(r"^Expected `(?P<type>int|float)` (?P<op>>=|>|<=|<) (?P<bound>-?[\d.]+)$"), _bounds),
    (re.compile(r"^Expected `(?P<type>str|array|object)` of length (?P<op>>=|<=) (?P<bound>\d+)$"), _length),
    (re.compile(r"^Expected `str` matching regex (?P<pattern>.+)$"), _pattern),
    (re.compile(r"^Expected `(?P<expected>[\w |]+)`, got `(?P<got>\w+)`$"), _wrong_type),
    (re.compile(r"^Invalid enum value (?P<value>.+)$"), _enum),
    (re.compile(r"^Invalid UUID$"), lambda m, _: "must be a UUID"),
    (
        re.compile(r"^Invalid RFC3339 encoded datetime$"),
        lambda m, _: "must be an RFC 3339 time, e.g. 2026-01-05T09:00:00Z",
    ),
    # A multipart part without a filename arrives as text where a file is declared.
    (re.compile(r"^Unsupported type: <class 'str'>$"), lambda m, _: "must be a file: a part with a filename"),
]
BODY_LEVEL = [
    (re.compile(r"^Object missing required field `(?P<field>[^`]+)`$"), "is required"),
    (re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$"), "is not a field of this body"),
]


def _public_name(request: Request[Any, Any, Any], key: Any) -> Any:
    """A parameter's name as clients write it (`teamId`), where Litestar reports the Python one."""
    definition = _declared_parameters(request).get(str(key))
    kwarg = definition.kwarg_definition if definition else None
    return kwarg.name if isinstance(kwarg, ParameterKwarg) and kwarg.name else key


def plain_error(request: Request[Any, Any, Any], error: dict[str, Any]) -> dict[str, Any]:
    """The error item (`key`, `message`, `source`) with its message in plain words."""
    key, message, source = error.get("key"), str(error.get("message", "invalid value")), error.get("source")
    if source != "body" and key:
        key = _public_name(request, key)
        error = {**error, "key": key}
        # A query value is never JSON null: "true or false", not "true or false or null".
        message = message.replace(" | null`", "`")
    for pattern, words in BODY_LEVEL:
        if found := pattern.match(message):
            return {**error, "key": found["field"], "message": words}
    for pattern, rewrite in RULES:
        if found := pattern.match(message):
            limits = field_limits(request, source, str(key)) if key else Limits()
            return {**error, "message": rewrite(found, limits)}
    return error
