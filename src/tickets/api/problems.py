"""One mapping from errors to RFC 9457 problem+json responses, for the whole app."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tickets.api.validation import plain_error
from tickets.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidValueError,
    NotFoundError,
)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.pfai.dev/problems/"

logger = logging.getLogger("tickets.api")

DOMAIN_STATUS: dict[type[DomainError], HTTPStatus] = {
    NotFoundError: HTTPStatus.NOT_FOUND,
    ConflictError: HTTPStatus.CONFLICT,
    InvalidValueError: HTTPStatus.UNPROCESSABLE_ENTITY,
    ForbiddenError: HTTPStatus.FORBIDDEN,
}


def problem(
    request: Request[Any, Any, Any],
    status: HTTPStatus,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """A problem+json response whose `detail` says what is wrong."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + status.phrase.lower().replace(" ", "-"),
        "title": status.phrase,
        "status": status.value,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status.value, media_type=PROBLEM_JSON, headers=headers)


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


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = HTTPStatus(exc.status_code)
    if isinstance(exc, ValidationException):
        detail, errors = _validation_detail(request, exc.extra)
        return problem(request, status, detail, errors)
    detail = exc.detail if exc.detail and exc.detail != status.phrase else status.description
    return problem(request, status, detail, headers=exc.headers)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = next(
        (code for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind)),
        HTTPStatus.UNPROCESSABLE_ENTITY,
    )
    return problem(request, status, str(exc))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
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

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "problem"]
