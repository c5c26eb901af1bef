"""One mapping from errors to RFC 9457 problem+json responses, for the whole app."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ExceptionHandlersMap
from msgspec import UNSET, UnsetType

from tickets.api.validation import plain_error
from tickets.application.tickets import StaleVersionError
from tickets.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidValueError,
    NotFoundError,
    TooLargeError,
    UnsupportedFileTypeError,
)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.pfai.dev/problems/"

logger = logging.getLogger("tickets.api")

# Most specific first: the first matching kind decides.
DOMAIN_STATUS: dict[type[DomainError], HTTPStatus] = {
    # A stale `If-Match` is a failed precondition (RFC 9110, 13.1.1), not a plain conflict.
    StaleVersionError: HTTPStatus.PRECONDITION_FAILED,
    NotFoundError: HTTPStatus.NOT_FOUND,
    ConflictError: HTTPStatus.CONFLICT,
    InvalidValueError: HTTPStatus.UNPROCESSABLE_ENTITY,
    ForbiddenError: HTTPStatus.FORBIDDEN,
    TooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedFileTypeError: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
}


class FieldError(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One offending input of a 400."""

    message: str
    key: str | UnsetType = UNSET
    source: str | UnsetType = UNSET


class ProblemDetails(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem: every error the API answers has this shape."""

    type: str
    title: str
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    detail: str
    instance: str
    errors: list[FieldError] | UnsetType = UNSET


def problem(
    request: Request[Any, Any, Any],
    status: HTTPStatus,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ProblemDetails]:
    """A problem+json response whose `detail` says what is wrong."""
    body = ProblemDetails(
        type=PROBLEM_TYPE_BASE + status.phrase.lower().replace(" ", "-"),
        title=status.phrase,
        status=status.value,
        detail=detail,
        instance=request.url.path,
        errors=[_field_error(e) for e in errors] if errors else UNSET,
    )
    return Response(body, status_code=status.value, media_type=PROBLEM_JSON, headers=headers)


def _field_error(item: dict[str, Any]) -> FieldError:
    key, source = item.get("key"), item.get("source")
    return FieldError(
        message=str(item.get("message", "invalid value")),
        key=str(key) if key is not None else UNSET,
        source=str(source) if source is not None else UNSET,
    )


def _validation_detail(
    request: Request[Any, Any, Any], extra: Any
) -> tuple[str, list[dict[str, Any]] | None]:
    if not isinstance(extra, list) or not extra:
        return "the request is malformed", None
    errors = [plain_error(request, e) for e in extra if isinstance(e, dict)]
    parts = []
    for item in errors:
        key = item.get("key")
        message = str(item.get("message", "invalid value"))
        if key == "data" and item.get("source") == "body" and message == "'data'":
            key, message = None, "a JSON request body is required"
        parts.append(f"{key}: {message}" if key else message)
    return "; ".join(parts) or "the request is malformed", errors


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ProblemDetails]:
    status = HTTPStatus(exc.status_code)
    if isinstance(exc, ValidationException):
        detail, errors = _validation_detail(request, exc.extra)
        return problem(request, status, detail, errors)
    detail = exc.detail if exc.detail and exc.detail != status.phrase else status.description
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.route_handler.resolve_request_max_body_size()
        detail = f"the request body is larger than the {limit} bytes this endpoint accepts"
    return problem(request, status, detail, headers=exc.headers)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[ProblemDetails]:
    status = next(
        (code for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind)),
        HTTPStatus.UNPROCESSABLE_ENTITY,
    )
    return problem(request, status, str(exc))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ProblemDetails]:
    # The trace goes to the log, never to the client.
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        request, HTTPStatus.INTERNAL_SERVER_ERROR, "an unexpected error occurred; it has been logged"
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: handle_http_exception,
    DomainError: handle_domain_error,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "ProblemDetails", "problem"]
