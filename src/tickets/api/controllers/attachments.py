"""Attachments: files uploaded to a ticket, and their download (with ETag and byte ranges).

Litestar's `File` and `Stream` responses send a whole body and know nothing of `Range` or
`If-None-Match`, so `download` answers those itself (RFC 9110, sections 13 and 14): one byte range
per request (a request for several gets the whole file, which the RFC allows), 416 for a range
outside the file, 304 when the client's copy is current.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Protocol
from urllib.parse import quote
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, HeaderParameter, MultipartBody
from litestar.response import Stream

from tickets.api import presenters, schemas
from tickets.api.controllers.common import written
from tickets.api.dependencies import uploader_before_body
from tickets.application.actors import Actor
from tickets.application.attachments import IncomingFile
from tickets.bootstrap import Services

RangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Range",
        required=False,
        description="One byte range, `bytes=0-1023`, `bytes=1024-` or `bytes=-512` (206); several ranges, "
        "another unit or a malformed value get the whole file",
    ),
]
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match",
        required=False,
        description="ETags of copies you hold; 304 when one is this attachment's",
    ),
]
IfRange = Annotated[
    str | None,
    HeaderParameter(
        name="If-Range",
        required=False,
        description="The ETag your partial copy has: the range is sent only if it is still this one, else the whole file",
    ),
]

_BYTE_RANGE = re.compile(r"^\s*bytes\s*=\s*(?:(\d+)\s*-\s*(\d*)|-\s*(\d+))\s*$", re.IGNORECASE)
# RFC 8187 `attr-char`: what a `filename*` value may hold unescaped.
_ATTR_CHARS = "!#$&+-.^_`|~"


class TicketAttachmentController(Controller):
    path = "/api/v1/tickets/{ticket_ref:str}/attachments"
    tags = ["attachments"]

    @post(
        "/",
        sync_to_thread=True,
        status_code=201,
        summary="Upload files to a ticket",
        guards=[uploader_before_body],
    )
    def upload_attachments(
        self,
        ticket_ref: FromPath[str],
        data: MultipartBody[schemas.AttachmentUpload],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
    ) -> Response[list[schemas.AttachmentOut]]:
        """One or more `file` parts. Each becomes an attachment of the ticket (`attachment_added`),
        for a message to carry within 24 hours (`attachmentIds`); unused, it is discarded.

        Refused: more files or larger ones than the server's limits (413), empty files (422), and
        programs, scripts, HTML and SVG, by name, declared type or content (415).
        """
        files = [IncomingFile(part.filename, part.content_type, part.file) for part in data.file]
        try:
            saved = services.attachments.upload(actor, ticket_ref, files)
        finally:
            for part in data.file:
                part.file.close()
        return written([presenters.attachment(a) for a in saved.value], saved, 201)


class AttachmentController(Controller):
    path = "/api/v1/attachments"
    tags = ["attachments"]

    @get("/{attachment_id:uuid}", sync_to_thread=True, summary="Download an attachment")
    def download_attachment(
        self,
        attachment_id: FromPath[UUID],
        services: NamedDependency[Services],
        actor: NamedDependency[Actor],
        range_: RangeHeader = None,
        if_none_match: IfNoneMatch = None,
        if_range: IfRange = None,
    ) -> Stream:
        """The file's bytes, as stored, with its type, `Content-Disposition: attachment` and its SHA-256
        as a strong `ETag`. Members of the ticket's org only; a discarded attachment, or one whose
        message was deleted, is 404."""
        opened = services.attachments.open(actor, attachment_id)
        return send_file(opened.attachment, opened.read, range_, if_none_match, if_range)


class StoredBytes(Protocol):
    """What a download needs to know of a file."""

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...


def send_file(
    file: StoredBytes,
    read: Callable[[int, int], Iterator[bytes]],
    range_: str | None,
    if_none_match: str | None,
    if_range: str | None,
) -> Stream:
    """A stored file as a download: its type as stored, `Content-Disposition: attachment`, its SHA-256
    as a strong `ETag` (304 for a current copy), one byte range (206, 416). Members' and contacts'
    downloads answer alike."""
    tag = f'"{file.sha256}"'
    headers = {
        "ETag": tag,
        "Cache-Control": "private, no-cache",
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
    }
    if if_none_match is not None and _any_tag_matches(if_none_match, tag):
        return Stream(iter(()), status_code=304, headers=headers)
    headers["Content-Disposition"] = content_disposition(file.filename)
    # Should a browser open it anyway, it runs nothing and loads nothing.
    headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # A partial copy of other bytes must not be completed with these: then the whole file.
    wanted = None if if_range is not None and if_range.strip() != tag else range_
    requested = byte_range(wanted, file.size)
    start, stop = requested or (0, file.size)
    headers["Content-Length"] = str(stop - start)
    status = 200
    if requested is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{file.size}"
    # As stored: Litestar would add `; charset=utf-8` to a `text/*` media type, which may not be true.
    headers["Content-Type"] = file.content_type
    return Stream(read(start, stop), status_code=status, media_type=file.content_type, headers=headers)


def _any_tag_matches(header: str, tag: str) -> bool:
    """`If-None-Match` uses the weak comparison: `W/"x"` matches `"x"` (RFC 9110, 13.1.2)."""
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == tag for candidate in header.split(","))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range a `Range` header asks for, as (start, stop) with `stop` excluded; None for
    the whole file (no header, another unit, several ranges, a malformed one).

    A well-formed range that starts past the end is 416, with the file's size in `Content-Range`.
    """
    match = _BYTE_RANGE.match(header) if header is not None else None
    if match is None:
        return None
    first, last, suffix = match.groups()
    if suffix is not None:
        length = int(suffix)
        if length == 0:
            raise _not_satisfiable(header, size)
        return max(size - length, 0), size
    start = int(first)
    if last and int(last) < start:
        return None  # invalid, so ignored (RFC 9110, 14.1.1)
    if start >= size:
        raise _not_satisfiable(header, size)
    return start, min(int(last) + 1, size) if last else size


def _not_satisfiable(header: Any, size: int) -> HTTPException:
    return HTTPException(
        status_code=416,
        detail=f"the range {header!r} is outside the attachment's {size} bytes",
        headers={"Content-Range": f"bytes */{size}"},
    )


def content_disposition(filename: str) -> str:
    """`attachment` with the name as ASCII (`filename`) and, when it is not plain ASCII, exactly in
    UTF-8 (`filename*`, which browsers prefer): RFC 6266 and RFC 8187."""
    decomposed = unicodedata.normalize("NFKD", filename)
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
        for c in decomposed
        if not unicodedata.combining(c)
    )
    value = f'attachment; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
    return value
