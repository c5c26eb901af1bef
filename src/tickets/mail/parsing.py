"""Raw mail to `InboundMail`, and the mailboxes an import reads.

`parse_mail` never raises: mail comes from anyone, and one broken message must not stop the SMTP
intake or an import of thousands. Each piece (a header, the body, one attachment) falls back on its
own, so a bad part costs that part only; the worst case is a mail with an empty body.

Only the standard library's `email` package reads MIME (`policy.default`: decoded headers, RFC 2231
file names). Its header parser still has edge cases that raise on hostile input, hence the fences.
"""

from __future__ import annotations

import hashlib
import mailbox
import mimetypes
import re
from collections.abc import Callable, Collection, Iterator
from email import policy
from email.headerregistry import Address
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

from tickets.application.inbound import InboundMail, MailPart

NO_SUBJECT = "(no subject)"

_T = TypeVar("_T")
_PARSER = BytesParser(policy=policy.default)
# Only the standard library's own table: the machine's /etc/mime.types would make names differ by host.
_MIME_TYPES = mimetypes.MimeTypes()
# Deeper MIME nesting than this is an attack, not a mail.
_MAX_DEPTH = 40

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ANGLE_ID = re.compile(r"<([^<>]*)>")


def parse_mail(raw: bytes, our_domains: Collection[str] = ()) -> InboundMail:
    """The `InboundMail` in `raw`; `our_domains` are the domains whose senders are our own loops."""
    try:
        return _parse(raw, our_domains)
    except Exception:  # the last fence: the pieces catch their own failures
        return InboundMail(
            message_id=_stand_in_id(raw),
            sender="",
            sender_name="",
            subject=NO_SUBJECT,
            body="",
            noise="no sender",
        )


def _parse(raw: bytes, our_domains: Collection[str]) -> InboundMail:
    message = _PARSER.parsebytes(raw)
    local_part, domain, display_name = _safely(lambda: _sender(message), ("", "", ""))
    sender = f"{local_part}@{domain}".lower() if local_part and domain else ""
    subject = _one_line(_header(message, "Subject")) or NO_SUBJECT
    return InboundMail(
        message_id=next(iter(_message_ids(_raw_header(message, "Message-ID"))), None) or _stand_in_id(raw),
        sender=sender,
        sender_name=display_name or local_part,
        subject=subject,
        body=_safely(lambda: _body(message, forwarded=_is_forward(subject)), ""),
        in_reply_to=_message_ids(_raw_header(message, "In-Reply-To")),
        references=_message_ids(_raw_header(message, "References")),
        attachments=_safely(lambda: tuple(_attachments(message)), ()),
        noise=_safely(lambda: _noise(message, local_part, domain, our_domains), None),
    )


def _safely(compute: Callable[[], _T], default: _T) -> _T:
    try:
        return compute()
    except Exception:  # see the module docstring: one broken piece costs that piece only
        return default


def _stand_in_id(raw: bytes) -> str:
    # Derived from the bytes, so a redelivery of the same mail has the same id (exactly once).
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@missing"


# --- Headers ------------------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    """A header's decoded value ('' when absent), falling back on its raw text if decoding fails."""
    try:
        value = message.get(name)
    except Exception:
        return _clean(_raw_header(message, name))
    return "" if value is None else _clean(str(value))


def _raw_header(message: Message, name: str) -> str:
    """The first `name` header as written, unfolded; message ids and the like need no decoding."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return re.sub(r"\r?\n", "", str(value))
    return ""


def _has_header(message: Message, name: str) -> bool:
    return any(key.lower() == name.lower() for key, _ in message.raw_items())


def _clean(text: str) -> str:
    """`text` as valid Unicode: undecodable bytes the parser kept as surrogates become UTF-8 or U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that did not come from bytes
        return text.encode("utf-8", "replace").decode("utf-8")


def _one_line(text: str) -> str:
    return " ".join(_CONTROL_CHARACTERS.sub(" ", _clean(text)).split())


def _message_ids(raw: str) -> tuple[str, ...]:
    """The ids in a Message-ID, In-Reply-To or References value, without angle brackets, in order."""
    found = _ANGLE_ID.findall(raw) or [token for token in raw.split() if "@" in token]
    ids = ("".join(_clean(candidate).split()) for candidate in found)
    return tuple(dict.fromkeys(found_id for found_id in ids if found_id))


def _sender(message: Message) -> tuple[str, str, str]:
    """The From address's local part, domain and display name ('' for what is missing)."""
    try:
        header: Any = message.get("From")
        addresses: tuple[Address, ...] = tuple(header.addresses) if header is not None else ()
        pairs = [(address.display_name, address.username, address.domain) for address in addresses]
    except Exception:
        pairs = []
        for name, address in getaddresses([_raw_header(message, "From")]):
            local_part, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
            pairs.append((name, local_part, domain))
    for name, local_part, domain in pairs:
        local_part, domain = _clean(local_part).strip(), _clean(domain).strip()
        if local_part and not any(c.isspace() for c in local_part + domain):
            return local_part, domain, _one_line(name)
    return "", "", ""


def _is_forward(subject: str) -> bool:
    return re.match(r"(?i)^\s*(fwd?|wg|tr|rv|i)\s*:", subject) is not None


# --- Noise --------------------------------------------------------------------------------------------

_BOUNCE_SENDERS = frozenset({"mailer-daemon", "postmaster"})


def _noise(message: Message, local_part: str, domain: str, our_domains: Collection[str]) -> str | None:
    """Why the mail must create nothing (loops, bounces, bulk), or None."""
    if local_part.lower() in _BOUNCE_SENDERS or message.get_content_type() == "multipart/report":
        return "bounce"
    auto_submitted = _first_token(_header(message, "Auto-Submitted"))
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted}"
    if _has_header(message, "X-Autoreply") or _has_header(message, "X-Autorespond"):
        return "auto-reply"
    precedence = _first_token(_header(message, "Precedence"))
    if precedence in ("bulk", "junk", "list"):
        return f"precedence: {precedence}"
    if _has_header(message, "List-Id") or _has_header(message, "List-Unsubscribe"):
        return "mailing list"
    if domain and domain.lower() in {ours.strip().lower() for ours in our_domains}:
        return "from our own address"
    if not (local_part and domain):
        return "no sender"
    return None


def _first_token(value: str) -> str:
    """`auto-replied` from `Auto-Replied; owner-email=...`."""
    return value.split(";", 1)[0].strip().lower()


# --- Body ---------------------------------------------------------------------------------------------


def _body(message: Message, *, forwarded: bool) -> str:
    part = _body_part(message, 0)
    if part is None:
        return ""
    text = _decoded_text(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    text = _normalized(text)
    if forwarded:  # what was forwarded is the point of the mail, not history to trim
        return text
    return trim_quotes_and_signature(text)


def _children(part: Message) -> list[Message]:
    # A multipart without a usable boundary keeps its payload as a string: it has no children.
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _is_named_or_attached(part: Message) -> bool:
    return part.get_content_disposition() == "attachment" or bool(part.get_filename())


def _body_part(part: Message, depth: int) -> Message | None:
    """The text/plain (else text/html) part a person wrote: files and attached mails are not it.

    Like `EmailMessage.get_body`, but a text file sent inline with a name (`notes.txt`) is not taken
    for the body of an HTML mail.
    """
    if depth > _MAX_DEPTH or _is_named_or_attached(part):
        return None
    content_type = part.get_content_type()
    if content_type in ("text/plain", "text/html"):
        return part
    if part.get_content_maintype() != "multipart":
        return None
    children = _children(part)
    if content_type == "multipart/related":
        children = children[:1]  # the root; the rest are its images
    found = [body for child in children if (body := _body_part(child, depth + 1)) is not None]
    if content_type == "multipart/alternative":
        return next((body for body in found if body.get_content_subtype() == "plain"), None) or next(
            iter(found), None
        )
    return next(iter(found), None)


def _decoded_text(part: Message) -> str:
    """A text part's content as a string, whatever charset it claims or really has."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    declared = part.get_content_charset()
    if declared and declared not in ("us-ascii", "ascii"):
        # The declared charset, else UTF-8 (often sent under a wrong label), else the declared one lossily.
        attempts = [(declared, "strict"), ("utf-8", "strict"), (declared, "replace")]
    else:
        # No charset or ASCII: 8-bit bytes then are most often UTF-8, else Windows' Latin-1.
        attempts = [("utf-8", "strict"), ("cp1252", "replace")]
    for charset, errors in attempts:
        try:
            return data.decode(charset, errors)
        except (LookupError, UnicodeDecodeError, TypeError, ValueError):
            continue
    return data.decode("utf-8", "replace")


def _normalized(text: str) -> str:
    """`\n` line ends, no trailing whitespace, no control characters, no blank lines around."""
    text = _CONTROL_CHARACTERS.sub("", _clean(text.replace("\r\n", "\n").replace("\r", "\n")))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


# --- Attachments --------------------------------------------------------------------------------------


def _attachments(message: Message) -> Iterator[MailPart]:
    """Every file in the mail: attached, inline with a name, or a non-text part; an attached mail as `.eml`."""
    number = 0
    for part in _leaves(message, 0):
        try:
            found = _attachment(part, number + 1)
        except Exception:  # a broken part costs that part only
            continue
        if found is not None:
            number += 1
            yield found


def _leaves(part: Message, depth: int) -> Iterator[Message]:
    """The parts that are not containers; an attached mail counts as one part."""
    if depth > _MAX_DEPTH:
        return
    if part.get_content_maintype() == "multipart":
        for child in _children(part):
            yield from _leaves(child, depth + 1)
    else:
        yield part


def _attachment(part: Message, number: int) -> MailPart | None:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        return _attached_mail(part)
    attached = part.get_content_disposition() == "attachment"
    filename = _clean(part.get_filename() or "").strip()
    if content_type in ("text/plain", "text/html") and not attached and not filename:
        return None  # the body or its alternative
    if part.get_content_maintype() in ("text", "message") and not attached and not filename:
        return None  # inline text such as a calendar alternative or a bounce's report
    data = part.get_payload(decode=True)
    return MailPart(
        filename=filename or f"attachment-{number}{_MIME_TYPES.guess_extension(content_type) or ''}",
        content_type=content_type,
        data=data if isinstance(data, bytes) else b"",
    )


def _attached_mail(part: Message) -> MailPart:
    children = _children(part)
    inner = children[0] if children else None
    if inner is None:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        subject = ""
    else:
        data = _safely(inner.as_bytes, b"") or _safely(lambda: str(inner).encode("utf-8", "replace"), b"")
        subject = _one_line(_header(inner, "Subject"))
    # Path separators would make the name a path; the attachments service makes the rest safe.
    name = re.sub(r"[/\\]", "_", subject)[:120].strip() or "forwarded"
    return MailPart(filename=f"{name}.eml", content_type="message/rfc822", data=data)


# --- Trimming quoted history and signatures -----------------------------------------------------------

# "On Mon, 1 Jan 2024 at 10:00, Ann <ann@example.com> wrote:" and its common translations; clients
# wrap it over up to three lines.
_ATTRIBUTION = re.compile(
    r"^\s*(?:On\s.*\swrote|Am\s.*\sschrieb.*|Le\s.*\sa\s+écrit|El\s.*\sescribió|Op\s.*\sschreef.*"
    r"|Il\s.*\sha\s+scritto|Em\s.*\sescreveu)\s*:\s*$"
)
_ATTRIBUTION_MAX_LINES = 3
_ATTRIBUTION_MAX_LENGTH = 400
_ORIGINAL_MESSAGE = re.compile(
    r"(?i)^\s*-{3,}\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original"
    r"|oorspronkelijk bericht|messaggio originale)\s*-{3,}\s*$"
)
_OUTLOOK_RULE = re.compile(r"^\s*_{20,}\s*$")
_FORWARD_MARKER = re.compile(r"(?i)forwarded message|begin forwarded message|weitergeleitete nachricht")
# "From: ... / Sent: ... / To: ... / Subject: ..." as Outlook writes a reply's history, in a few languages;
# Outlook's plain text sometimes bolds the names (`*From:*`).
_HEADER_LINE = re.compile(r"^\s*\*?([^\W\d_]+)\*?\s*:\*?(?:\s|$)")
_FROM_NAMES = frozenset({"from", "von", "de", "van", "da"})
# Outlook's own word for the date; a plain "Date:" also needs an address in the From line, so that
# "From: Berlin / Date: 12 May / To: Munich" in a customer's words is not taken for history.
_SENT_NAMES = frozenset({"sent", "gesendet", "envoyé", "enviado", "verzonden", "inviato"})
_DATE_NAMES = frozenset({"date", "datum", "fecha", "data"})
_OTHER_NAMES = frozenset(
    {"to", "cc", "subject", "an", "betreff", "à", "objet", "para", "asunto", "aan", "onderwerp"}
)
_HEADER_BLOCK_LINES = 6
_SIGNATURE_DELIMITERS = ("-- ", "--")
_MOBILE_SIGNATURE = re.compile(
    r"(?i)^(?:sent from my [\w .-]{1,40}|sent from (?:mail|outlook) for \w+|get outlook for \w+)$"
)


def trim_quotes_and_signature(text: str) -> str:
    """`text` without the quoted history and signature that can be told apart reliably.

    Cut: from a reply attribution ("On <date>, <someone> wrote:", unless the reply is written between
    the quoted lines), from Outlook's "-----Original Message-----" or "From:/Sent:" header block, a
    trailing block of `>` lines, from a `-- ` signature line on, and a trailing "Sent from my phone".
    Text that would be left empty is returned whole.
    """
    lines = text.split("\n")
    trimmed = lines[: _history_start(lines)]
    trimmed = _without_trailing_quote(trimmed)
    trimmed = _without_signature(trimmed)
    result = "\n".join(trimmed).strip("\n")
    return result if result.strip() else text


def _history_start(lines: list[str]) -> int:
    interleaved = _interleaved_from(lines)
    for index, line in enumerate(lines):
        end = _attribution_end(lines, index)
        if end is not None and not interleaved[end + 1]:
            return index
        if _ORIGINAL_MESSAGE.match(line) or (
            _OUTLOOK_RULE.match(line) and _header_block_follows(lines, index)
        ):
            return index
        if _header_name(line) in _FROM_NAMES and _is_header_block(lines, index):
            return index
    return len(lines)


def _attribution_end(lines: list[str], index: int) -> int | None:
    """The last line of an attribution starting at `index`, or None."""
    if not re.match(r"^\s*(?:On|Am|Le|El|Op|Il|Em)\s", lines[index]):
        return None
    for count in range(1, _ATTRIBUTION_MAX_LINES + 1):
        joined = " ".join(line.strip() for line in lines[index : index + count])
        if len(joined) > _ATTRIBUTION_MAX_LENGTH:
            return None
        # A date or time in it tells an attribution from prose that happens to end in "wrote:".
        if _ATTRIBUTION.match(joined) and any(c.isdigit() for c in joined):
            return index + count - 1
        if index + count >= len(lines):
            return None
    return None


def _interleaved_from(lines: list[str]) -> list[bool]:
    """For each index, whether the writer answers between quoted lines from there on.

    Then the quotes are part of the answer. Computed for all indexes at once, from the end, so a mail
    of many attribution-like lines costs linear time.
    """
    interleaved = [False] * (len(lines) + 1)
    answer_follows = False
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        quoted = line.startswith(">")
        interleaved[index] = interleaved[index + 1] or (quoted and answer_follows)
        answer_follows = answer_follows or (not quoted and bool(line.strip()))
    return interleaved


def _header_name(line: str) -> str:
    found = _HEADER_LINE.match(line)
    return found.group(1).lower() if found else ""


def _header_block_follows(lines: list[str], index: int) -> bool:
    following = [i for i in range(index + 1, min(index + 3, len(lines))) if lines[i].strip()]
    return bool(following) and _header_name(lines[following[0]]) in _FROM_NAMES


def _is_header_block(lines: list[str], index: int) -> bool:
    """A "From:" line followed by a date line and a To/Subject line, and not a forward's header."""
    window = [_header_name(line) for line in lines[index + 1 : index + 1 + _HEADER_BLOCK_LINES]]
    dated = _SENT_NAMES.intersection(window) or ("@" in lines[index] and _DATE_NAMES.intersection(window))
    if not (dated and _OTHER_NAMES.intersection(window)):
        return False
    before = [line for line in lines[max(0, index - 2) : index] if line.strip()]
    return not (before and _FORWARD_MARKER.search(before[-1]))


def _without_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (lines[start - 1].startswith(">") or not lines[start - 1].strip()):
        start -= 1
    quoted = any(line.startswith(">") for line in lines[start:end])
    return lines[:start] if quoted else lines


def _without_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if line in _SIGNATURE_DELIMITERS:
            lines = lines[:index]
            break
    content = [line for line in lines if line.strip()]
    if content and _MOBILE_SIGNATURE.match(content[-1].strip()):
        last = max(i for i, line in enumerate(lines) if line.strip())
        lines = lines[:last]
    return lines


# --- HTML to text -------------------------------------------------------------------------------------


def html_to_text(html: str) -> str:
    """Readable Markdown-ish text from an HTML mail: paragraphs, lists, `> ` quotes, `text (url)` links."""
    converter = _HtmlToText()
    try:
        converter.feed(html)
        converter.close()
        text = converter.text()
    except Exception:  # html.parser gives up on some broken markup: keep the words at least
        text = unescape(re.sub(r"(?s)<(script|style)\b.*?</\1\s*>|<[^>]*>", " ", html))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


class _HtmlToText(HTMLParser):
    _HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})
    _PARAGRAPHS = frozenset({"p", "pre", "blockquote", "table", "hr", "h1", "h2", "h3", "h4", "h5", "h6"})
    _LINES = frozenset(
        {"div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "address", "center", "form"}
    )
    _LINK_SCHEMES = ("http://", "https://", "mailto:", "ftp://")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._pieces: list[str] = []
        self._hidden = 0
        self._preformatted = 0
        self._quote_depth = 0
        self._lists: list[int | None] = []  # None for a bulleted list, else the next number
        self._links: list[tuple[str, int]] = []  # href, where its text starts in _pieces
        self._marker = ""  # a list marker or heading prefix waiting for its text
        self._line_start = True
        self._trailing_newlines = 0
        self._ends_with_space = False

    def text(self) -> str:
        return "".join(self._pieces)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._hidden = 0  # an unclosed <head> must not hide the whole mail
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self._newline()
        elif tag in ("ul", "ol"):
            self._breaks(1 if self._lists else 2)
            self._lists.append(None if tag == "ul" else 1)
        elif tag == "li":
            self._breaks(1)
            self._marker = "  " * max(len(self._lists) - 1, 0) + self._list_marker()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._breaks(2)
            self._marker = "#" * int(tag[1]) + " "
        elif tag == "blockquote":
            self._breaks(2)
            self._quote_depth += 1
        elif tag == "pre":
            self._breaks(2)
            self._preformatted += 1
        elif tag in self._PARAGRAPHS:
            self._breaks(2)
        elif tag in self._LINES:
            self._breaks(1)
        elif tag in ("td", "th") and not self._line_start:
            self._write(" ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self._pieces)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._breaks(1 if self._lists else 2)
        elif tag == "blockquote":
            self._breaks(2)
            self._quote_depth = max(self._quote_depth - 1, 0)
        elif tag == "pre":
            self._breaks(2)
            self._preformatted = max(self._preformatted - 1, 0)
        elif tag in self._PARAGRAPHS:
            self._breaks(2)
        elif tag in self._LINES:
            self._breaks(1)
        elif tag == "a" and self._links:
            self._end_link(*self._links.pop())

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._preformatted:
            for number, segment in enumerate(data.split("\n")):
                if number:
                    self._newline()
                if segment:
                    self._write(segment)
            return
        text = re.sub(r"\s+", " ", data)
        if self._line_start or self._ends_with_space:
            text = text.lstrip()
        if text:
            self._write(text)

    def _list_marker(self) -> str:
        if not self._lists or self._lists[-1] is None:
            return "- "
        number = self._lists[-1]
        self._lists[-1] = number + 1
        return f"{number}. "

    def _end_link(self, href: str, start: int) -> None:
        label = "".join(self._pieces[start:]).strip()
        href = href.strip()
        shown = href.removeprefix("mailto:")
        # A bare URL as its own label, or an in-page anchor, needs no repeating.
        if label and href.lower().startswith(self._LINK_SCHEMES) and shown not in (label, label.rstrip("/")):
            self._write(f" ({shown})")

    def _write(self, text: str) -> None:
        if self._line_start:
            self._pieces.append("> " * self._quote_depth + self._marker)
            self._marker = ""
        self._pieces.append(text)
        self._line_start = False
        self._trailing_newlines = 0
        self._ends_with_space = text.endswith(" ")

    def _newline(self) -> None:
        self._pieces.append("\n")
        self._line_start = True
        self._trailing_newlines += 1
        self._ends_with_space = False

    def _breaks(self, count: int) -> None:
        """End the current line with at least `count` line breaks (none at the very start)."""
        if not self._pieces:
            return
        while self._trailing_newlines < count:
            self._newline()


# --- Mailboxes ----------------------------------------------------------------------------------------


def read_mailbox(path: Path) -> Iterator[bytes]:
    """Each mail in `path`: one `.eml` file, a directory of them (recursively, by path), or an mbox."""
    kind = _mailbox_kind(path)
    if kind == "mbox":
        box = mailbox.mbox(path, create=False)
        try:
            for key in box.iterkeys():
                yield _unescaped_from_lines(box.get_bytes(key))
        finally:
            box.close()
    elif kind == "directory":
        for file in _eml_files(path):
            yield file.read_bytes()
    else:
        yield path.read_bytes()


def count_mails(path: Path) -> int:
    """How many mails `read_mailbox(path)` yields, without parsing them (for a progress bar)."""
    kind = _mailbox_kind(path)
    if kind == "mbox":
        box = mailbox.mbox(path, create=False)
        try:
            return len(box)
        finally:
            box.close()
    if kind == "directory":
        return len(_eml_files(path))
    return 1


def _mailbox_kind(path: Path) -> str:
    if path.is_dir():
        return "directory"
    if path.is_file():
        with path.open("rb") as file:
            # An mbox starts with its first message's "From " envelope line (a single .eml may too).
            if file.readline().startswith(b"From "):
                return "mbox"
        if path.suffix.lower() == ".eml":
            return "eml"
        raise ValueError(f"{path} is neither an .eml file nor an mbox (whose first line starts with 'From ')")
    raise ValueError(f"{path} is not a file or directory of mail")


def _eml_files(directory: Path) -> list[Path]:
    return sorted(file for file in directory.rglob("*") if file.suffix.lower() == ".eml" and file.is_file())


def _unescaped_from_lines(raw: bytes) -> bytes:
    # mbox writers put ">" before body lines starting with "From " (mboxrd: before ">From " too); undo one level.
    return re.sub(rb"(?m)^>(>*From )", rb"\1", raw)


__all__ = [
    "NO_SUBJECT",
    "count_mails",
    "html_to_text",
    "parse_mail",
    "read_mailbox",
    "trim_quotes_and_signature",
]
