"""The customer portal: server-rendered pages at /portal and their JSON twin at /api/v1/portal.

A contact signs in with a single-use link (`/portal/sign-in/<token>`: a page whose button spends
it, so a mail scanner that fetches the link does not), which sets the session cookie: HttpOnly,
SameSite=Lax, Secure over HTTPS. That cookie opens /portal and /api/v1/portal only; member tokens
open neither. Every state-changing request carries a CSRF token bound to the session (a hash of
the session's secret, which a page of another site cannot read), or, before sign-in, the
double-submitted token of the sign-in cookie.

Everything a contact reads comes from the portal read model (`projections/portal.py`), which
internal notes never enter.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ServiceUnavailableException,
)
from litestar.params import FromPath, JSONBody, MultipartBody, QueryParameter, URLEncodedBody
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from projections.portal import PORTAL
from projections.runner import ReadSide
from tickets.api import presenters, schemas
from tickets.api.controllers.attachments import IfNoneMatch, IfRange, RangeHeader, send_file
from tickets.api.controllers.common import Cursor, Limit, written
from tickets.api.cursors import decode_cursor, encode_cursor
from tickets.api.problems import DOMAIN_STATUS
from tickets.application.attachments import IncomingFile
from tickets.application.contacts import ContactActor
from tickets.application.tickets import StoredFile
from tickets.bootstrap import Services
from tickets.domain.contact import SignInLinkError
from tickets.domain.errors import DomainError, NotFoundError

SESSION_COOKIE = "pfai_portal"
SIGN_IN_COOKIE = "pfai_portal_signin"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# How long a portal write waits for the read model to show it before the page is shown.
SHOW_OWN_WRITE_TIMEOUT = 5.0

Request_ = Request[Any, Any, Any]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    def add_filters(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["filesize"] = file_size
        engine.engine.filters["when"] = lambda value: f"{value:%Y-%m-%d %H:%M} UTC"
        engine.engine.filters["status_label"] = lambda value: str(getattr(value, "value", value)).replace(
            "_", " "
        )

    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=add_filters)


def file_size(size: int) -> str:
    """`512 bytes`, `1.5 KB`, `24.0 MB`."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: derived from its secret, so only a page that was served it knows it."""
    return hashlib.sha256(b"pfai-portal-csrf:" + session_token.encode()).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _read_side(services: Services) -> ReadSide:
    if services.read_side is None:
        raise ServiceUnavailableException(detail="the read models are not configured on this server")
    return services.read_side


def _signed_in(request: Request_, services: Services) -> ContactActor | None:
    token = request.cookies.get(SESSION_COOKIE)
    return services.contacts.authenticate(token) if token else None


def _check_csrf(request: Request_, given: str | None) -> None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not _same(given, csrf_for(token)):
        raise PermissionDeniedException(
            detail="the form has expired or did not come from this portal; reload it"
        )


def _session_cookie(request: Request_, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=max_age,
    )


def _show_own_write(services: Services, position: int | None) -> None:
    """Wait (bounded) until the read model shows the caller's write, so the next page has it."""
    if position is not None and services.read_side is not None:
        services.read_side.wait_for(position, SHOW_OWN_WRITE_TIMEOUT, names=[PORTAL.name])


def _up_to_date(services: Services) -> ReadSide:
    """The read side, once it has caught up with the log as it was when the request came (bounded
    wait, as for the members' lists): an agent's reply a moment ago is on the page."""
    read_side = _read_side(services)
    read_side.wait_for(read_side.head(), services.read_your_writes_timeout, names=[PORTAL.name])
    return read_side


# ---------------------------------------------------------------------------- the JSON twin


def provide_contact(request: Request_, services: NamedDependency[Services]) -> ContactActor:
    """The signed-in contact of the session cookie; 401 without a valid session (a member token is none)."""
    contact = _signed_in(request, services)
    if contact is None:
        raise NotAuthorizedException(
            detail="sign in to the portal first (a contact session cookie is needed)",
            headers={"WWW-Authenticate": 'Cookie realm="pfai-portal"'},
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _check_csrf(request, request.headers.get(CSRF_HEADER))
    return contact


def _ticket_out(services: Services, contact: ContactActor, number: int) -> schemas.PortalTicketOut:
    found = _up_to_date(services).portal_ticket(str(contact.org_id), str(contact.contact_id), number)
    if found is None:
        raise NotFoundError(f"ticket #{number} not found")
    org = services.directory.org(contact.org_id)
    return presenters.portal_ticket(*found, org, services.contacts.contact(contact).name)


class PortalApiController(Controller):
    """What the portal pages show, as JSON, for API clients of a signed-in contact."""

    path = "/api/v1/portal"
    tags = ["portal"]
    dependencies = {"contact": Provide(provide_contact, sync_to_thread=True)}

    @get("/session", sync_to_thread=True, summary="The signed-in contact, and the CSRF token for writes")
    def session(
        self, request: Request_, services: NamedDependency[Services], contact: NamedDependency[ContactActor]
    ) -> schemas.PortalSessionOut:
        """Send `csrfToken` as `X-CSRF-Token` with every write."""
        person = services.contacts.contact(contact)
        org = services.directory.org(contact.org_id)
        token = csrf_for(request.cookies.get(SESSION_COOKIE, ""))
        return schemas.PortalSessionOut(
            contact_name=person.name, email=person.email, org_name=org.name, csrf_token=token
        )

    @get("/tickets", sync_to_thread=True, summary="The contact's tickets (newest activity first)")
    def list_tickets(
        self,
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> schemas.Page[schemas.PortalTicketItem]:
        key = decode_cursor("portal", cursor, int, size=2)
        after = (key[0], key[1]) if key else None
        rows, next_after = _up_to_date(services).portal_tickets(
            str(contact.org_id), str(contact.contact_id), after, limit
        )
        return schemas.Page(
            items=[presenters.portal_ticket_item(r) for r in rows],
            next_cursor=encode_cursor("portal", *next_after) if next_after else None,
        )

    @post("/tickets", sync_to_thread=True, status_code=201, summary="Open a ticket as the contact")
    def create_ticket(
        self,
        data: JSONBody[schemas.PortalTicketCreate],
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
    ) -> Response[schemas.PortalTicketOut]:
        saved = services.tickets.open_for_contact(contact, data.subject, data.description)
        _show_own_write(services, saved.position)
        return written(_ticket_out(services, contact, saved.value.ticket_number), saved, status_code=201)

    @get("/tickets/{number:int}", sync_to_thread=True, summary="A ticket and its public thread")
    def get_ticket(
        self,
        number: FromPath[int],
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
    ) -> schemas.PortalTicketOut:
        return _ticket_out(services, contact, number)

    @get(
        "/tickets/{number:int}/messages",
        sync_to_thread=True,
        summary="A ticket's public thread, oldest first",
    )
    def list_messages(
        self,
        number: FromPath[int],
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
    ) -> list[schemas.PortalMessageOut]:
        return _ticket_out(services, contact, number).messages

    @post(
        "/tickets/{number:int}/messages",
        sync_to_thread=True,
        status_code=201,
        summary="Reply as the contact (a closed ticket gets a follow-up ticket)",
    )
    def reply(
        self,
        number: FromPath[int],
        data: JSONBody[schemas.PortalMessageCreate],
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
    ) -> Response[schemas.PortalTicketOut]:
        """Answers with the ticket the reply went to: this one, or the follow-up a closed ticket got."""
        saved = services.tickets.contact_reply(contact, number, data.content)
        _show_own_write(services, saved.position)
        return written(_ticket_out(services, contact, saved.value.ticket_number), saved, status_code=201)

    @post("/tickets/{number:int}/resolve", sync_to_thread=True, status_code=200, summary='"This is solved"')
    def resolve(
        self,
        number: FromPath[int],
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
    ) -> Response[schemas.PortalTicketOut]:
        saved = services.tickets.contact_resolve(contact, number)
        _show_own_write(services, saved.position)
        return written(_ticket_out(services, contact, number), saved)

    @post(
        "/tickets/{number:int}/reopen",
        sync_to_thread=True,
        status_code=200,
        summary='"Still not working" (a resolved ticket, within the push-back window)',
    )
    def reopen(
        self,
        number: FromPath[int],
        services: NamedDependency[Services],
        contact: NamedDependency[ContactActor],
    ) -> Response[schemas.PortalTicketOut]:
        saved = services.tickets.contact_reopen(contact, number)
        _show_own_write(services, saved.position)
        return written(_ticket_out(services, contact, number), saved)


# ---------------------------------------------------------------------------- the pages


@dataclass
class LoginForm:
    email: str = ""
    org: str = ""
    csrf_token: str = ""


@dataclass
class TokenForm:
    csrf_token: str = ""


@dataclass
class ReplyForm:
    content: str = ""
    csrf_token: str = ""
    # Files, one or several; a file input left empty sends a part without a filename, which
    # arrives as text (and a union of UploadFile and str cannot be declared): `_stored_files` sorts them.
    files: Any = None


@dataclass
class NewTicketForm:
    subject: str = ""
    description: str = ""
    csrf_token: str = ""
    # Files, one or several; a file input left empty sends a part without a filename, which
    # arrives as text (and a union of UploadFile and str cannot be declared): `_stored_files` sorts them.
    files: Any = None


def _stored_files(services: Services, sent: Any) -> list[StoredFile]:
    """The files a form sent (a file input left empty sends a nameless, empty part: not a file)."""
    parts = sent if isinstance(sent, list) else [sent]
    chosen = [p for p in parts if isinstance(p, UploadFile) and p.filename]
    try:
        return services.attachments.store([IncomingFile(p.filename, p.content_type, p.file) for p in chosen])
    finally:
        for part in chosen:
            part.file.close()


def _page(name: str, request: Request_, status_code: int = 200, **context: Any) -> Template:
    return Template(template_name=f"portal/{name}.html", context=context, status_code=status_code)


def _error_page(request: Request_, exc: Exception) -> Response[Any]:
    """Pages answer errors as pages: the same status a JSON client would get, in words."""
    if isinstance(exc, NotFoundError):
        status, message = 404, "There is no such ticket or file among yours."
    elif isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
    elif isinstance(exc, DomainError):
        status = next((int(code) for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind)), 422)
        message = str(exc)
    else:
        raise exc
    return _page("error", request, status_code=status, message=message, org_name=None, contact=None)


def _to_login(request: Request_) -> Redirect:
    return Redirect(path="/portal/login")


def _blank(value: str) -> bool:
    return not value.strip()


class PortalPages(Controller):
    """The portal's HTML pages (not part of the API description)."""

    path = "/portal"
    include_in_schema = False
    exception_handlers = {HTTPException: _error_page, DomainError: _error_page}

    def _context(self, request: Request_, services: Services, contact: ContactActor) -> dict[str, Any]:
        person = services.contacts.contact(contact)
        return {
            "org_name": services.directory.org(contact.org_id).name,
            "contact": person,
            "csrf_token": csrf_for(request.cookies.get(SESSION_COOKIE, "")),
        }

    # ------------------------------------------------------------------ signing in and out

    @get("/login", sync_to_thread=True)
    def login_page(
        self, request: Request_, org: Annotated[str | None, QueryParameter(max_length=100)] = None
    ) -> Response[Any]:
        token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
        response = _page(
            "login", request, org=org or "", csrf_token=token, sent=False, org_name=None, contact=None
        )
        return self._with_sign_in_cookie(request, response, token)

    @post("/login", sync_to_thread=True, status_code=200)
    def ask_for_link(
        self,
        request: Request_,
        services: NamedDependency[Services],
        data: URLEncodedBody[LoginForm],
    ) -> Response[Any]:
        """The same answer whether or not the address is known: it tells nobody who is a contact."""
        if not _same(data.csrf_token, request.cookies.get(SIGN_IN_COOKIE, "\x00")):
            raise PermissionDeniedException(detail="the form has expired; reload the page and try again")
        if "@" in data.email and data.org.strip():
            try:
                org_id = services.directory.org_id_for_slug(data.org.strip())
            except NotFoundError:
                org_id = None
            if org_id is not None:
                services.contacts.request_link(org_id, data.email)
        return _page(
            "login", request, org=data.org, csrf_token=data.csrf_token, sent=True, org_name=None, contact=None
        )

    @get("/sign-in/{token:str}", sync_to_thread=True)
    def sign_in_page(self, request: Request_, token: FromPath[str]) -> Response[Any]:
        # Opening the link does not spend it (mail scanners fetch links); the button does.
        csrf = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
        response = _page("sign_in", request, token=token, csrf_token=csrf, org_name=None, contact=None)
        return self._with_sign_in_cookie(request, response, csrf)

    @post("/sign-in/{token:str}", sync_to_thread=True, status_code=303)
    def sign_in(
        self,
        request: Request_,
        token: FromPath[str],
        services: NamedDependency[Services],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        if not _same(data.csrf_token, request.cookies.get(SIGN_IN_COOKIE, "\x00")):
            raise PermissionDeniedException(detail="the form has expired; open the sign-in link again")
        try:
            session = services.contacts.redeem_link(token)
        except SignInLinkError as exc:
            return _page(
                "error",
                request,
                status_code=410,
                message=f"{exc}. Ask for a new one.",
                org_name=None,
                contact=None,
                login=True,
            )
        lifetime = int((session.expires_at - services.clock()).total_seconds())
        response: Response[Any] = Redirect(path="/portal", status_code=303)
        response.set_cookie(_session_cookie(request, session.token, lifetime))
        response.delete_cookie(SIGN_IN_COOKIE, path="/portal")
        return response

    @post("/sign-out", sync_to_thread=True, status_code=303)
    def sign_out(
        self, request: Request_, services: NamedDependency[Services], data: URLEncodedBody[TokenForm]
    ) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is not None:
            _check_csrf(request, data.csrf_token)
            services.contacts.end_session(contact)
        response: Response[Any] = Redirect(path="/portal/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @staticmethod
    def _with_sign_in_cookie(request: Request_, response: Response[Any], token: str) -> Response[Any]:
        response.set_cookie(
            Cookie(
                key=SIGN_IN_COOKIE,
                value=token,
                path="/portal",
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                max_age=3600,
            )
        )
        return response

    # ------------------------------------------------------------------ tickets

    @get("/", sync_to_thread=True)
    def my_tickets(
        self, request: Request_, services: NamedDependency[Services], cursor: Cursor = None
    ) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is None:
            return _to_login(request)
        key = decode_cursor("portal", cursor, int, size=2)
        rows, next_after = _up_to_date(services).portal_tickets(
            str(contact.org_id), str(contact.contact_id), (key[0], key[1]) if key else None, 25
        )
        next_cursor = encode_cursor("portal", *next_after) if next_after else None
        return _page(
            "tickets",
            request,
            tickets=rows,
            next_cursor=next_cursor,
            **self._context(request, services, contact),
        )

    @get("/new", sync_to_thread=True)
    def new_ticket_page(self, request: Request_, services: NamedDependency[Services]) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is None:
            return _to_login(request)
        return _page(
            "new", request, form=NewTicketForm(), errors={}, **self._context(request, services, contact)
        )

    @post("/new", sync_to_thread=True, status_code=303)
    def create_ticket(
        self,
        request: Request_,
        services: NamedDependency[Services],
        data: MultipartBody[NewTicketForm],
    ) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is None:
            return _to_login(request)
        _check_csrf(request, data.csrf_token)
        errors = {}
        if _blank(data.subject) or len(data.subject) > 500:
            errors["subject"] = "Give your request a subject (up to 500 characters)."
        if _blank(data.description) or len(data.description) > 65_536:
            errors["description"] = "Describe what happened (up to 64 KiB of text)."
        if errors:
            return _page(
                "new",
                request,
                status_code=422,
                form=data,
                errors=errors,
                **self._context(request, services, contact),
            )
        files = _stored_files(services, data.files)
        saved = services.tickets.open_for_contact(contact, data.subject.strip(), data.description, files)
        _show_own_write(services, saved.position)
        return Redirect(path=f"/portal/tickets/{saved.value.ticket_number}", status_code=303)

    @get("/tickets/{number:int}", sync_to_thread=True)
    def ticket_page(
        self, request: Request_, number: FromPath[int], services: NamedDependency[Services]
    ) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is None:
            return _to_login(request)
        ticket = _ticket_out(services, contact, number)
        return _page("ticket", request, ticket=ticket, errors={}, **self._context(request, services, contact))

    @post("/tickets/{number:int}/reply", sync_to_thread=True, status_code=303)
    def reply(
        self,
        request: Request_,
        number: FromPath[int],
        services: NamedDependency[Services],
        data: MultipartBody[ReplyForm],
    ) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is None:
            return _to_login(request)
        _check_csrf(request, data.csrf_token)
        if _blank(data.content) or len(data.content) > 65_536:
            ticket = _ticket_out(services, contact, number)
            errors = {"content": "Write a reply (up to 64 KiB of text)."}
            return _page(
                "ticket",
                request,
                status_code=422,
                ticket=ticket,
                errors=errors,
                **self._context(request, services, contact),
            )
        files = _stored_files(services, data.files)
        saved = services.tickets.contact_reply(contact, number, data.content, files)
        _show_own_write(services, saved.position)
        return Redirect(path=f"/portal/tickets/{saved.value.ticket_number}", status_code=303)

    @get("/attachments/{attachment_id:uuid}", sync_to_thread=True)
    def download(
        self,
        request: Request_,
        attachment_id: FromPath[UUID],
        services: NamedDependency[Services],
        range_: RangeHeader = None,
        if_none_match: IfNoneMatch = None,
        if_range: IfRange = None,
    ) -> Response[Any]:
        """A file of a public message of one of the contact's tickets (from the portal read model,
        which the files of notes never enter); any other is 404."""
        contact = _signed_in(request, services)
        if contact is None:
            raise NotAuthorizedException(detail="sign in to the portal first")
        found = _up_to_date(services).portal_attachment(
            str(contact.org_id), str(contact.contact_id), str(attachment_id)
        )
        if found is None:
            raise NotFoundError(f"attachment {attachment_id} not found")
        blobs = services.attachments.blobs
        return send_file(
            found, lambda start, stop: blobs.read(found.sha256, start, stop), range_, if_none_match, if_range
        )

    @post("/tickets/{number:int}/resolve", sync_to_thread=True, status_code=303)
    def resolve(
        self,
        request: Request_,
        number: FromPath[int],
        services: NamedDependency[Services],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        return self._status_change(request, number, services, data, resolve=True)

    @post("/tickets/{number:int}/reopen", sync_to_thread=True, status_code=303)
    def reopen(
        self,
        request: Request_,
        number: FromPath[int],
        services: NamedDependency[Services],
        data: URLEncodedBody[TokenForm],
    ) -> Response[Any]:
        return self._status_change(request, number, services, data, resolve=False)

    @staticmethod
    def _status_change(
        request: Request_, number: int, services: Services, data: TokenForm, resolve: bool
    ) -> Response[Any]:
        contact = _signed_in(request, services)
        if contact is None:
            return _to_login(request)
        _check_csrf(request, data.csrf_token)
        change = services.tickets.contact_resolve if resolve else services.tickets.contact_reopen
        saved = change(contact, number)
        _show_own_write(services, saved.position)
        return Redirect(path=f"/portal/tickets/{number}", status_code=303)
