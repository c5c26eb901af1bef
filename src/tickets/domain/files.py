"""What the service accepts as an attachment: file names made safe, and the kinds of file it refuses.

Downloads are sent with `Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`, so a
browser saves a file instead of running or rendering it. Refusing programs, scripts and HTML on the
way in is a second fence: by the name's extension, by the declared type, and by the bytes themselves
(the client chooses the first two).
"""

from __future__ import annotations

import re
import unicodedata

# Browsers decide a resource is HTML from its first 1024 bytes (Chromium's `kMaxBytesToSniff`); the
# markup search looks at as many.
SNIFF_BYTES = 1024
MAX_FILENAME_BYTES = 255  # what common file systems accept
FALLBACK_FILENAME = "attachment"
OCTET_STREAM = "application/octet-stream"

REFUSED_EXTENSIONS = frozenset(
    {
        # Windows programs, installers, libraries and scripts
        "exe", "com", "scr", "msi", "msp", "dll", "cpl", "bat", "cmd", "ps1", "psm1", "vbs", "vbe",
        "wsf", "wsh", "hta", "jse", "lnk",
        # Unix and macOS scripts and applications
        "sh", "bash", "zsh", "csh", "ksh", "command", "app",
        # What a browser runs or renders
        "js", "mjs", "cjs", "html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml", "svg", "svgz",
    }
)  # fmt: skip

REFUSED_CONTENT_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/ecmascript",
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/vnd.microsoft.portable-executable",
        "application/x-msi",
        "application/x-executable",
        "application/x-elf",
        "application/x-mach-binary",
        "application/x-sh",
        "application/x-shellscript",
        "text/x-shellscript",
        "application/x-bat",
        "application/hta",
    }
)

# Programs, recognised by their first bytes.
EXECUTABLE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xfe\xed\xfa\xce", "a macOS program"),
    (b"\xfe\xed\xfa\xcf", "a macOS program"),
    (b"\xce\xfa\xed\xfe", "a macOS program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS universal program or Java class"),
    (b"#!", "a script"),
)

# The WHATWG MIME Sniffing standard's HTML signatures (section 7.1): after leading white space, a
# browser renders as HTML what starts with one of these, followed by a space or `>`.
_HTML_START = re.compile(
    rb"[\t\n\x0c\r ]*<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[ >]",
    re.IGNORECASE,
)
# Markup that makes a document active, anywhere in the sniffed bytes (an SVG image can carry script).
_ACTIVE_MARKUP = re.compile(rb"<(!doctype html|html|script|iframe|svg)[\s/>]", re.IGNORECASE)

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$")

# Names Windows reserves for devices, whatever the extension.
_RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
)
# Characters Windows does not allow in names; path separators are handled before.
_FORBIDDEN_CHARACTERS = re.compile(r'[<>:"|?*]')
# Invisible characters that reorder text: `invoice\u202egnp.exe` shows as `invoiceexe.png`.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe_filename(raw: str) -> str:
    """The name to keep for an uploaded file: its last path part, printable, and short enough.

    Control and bidi characters are dropped, characters Windows forbids become `_`, leading dots and
    spaces and trailing dots and spaces go, Windows device names (`CON`, `lpt1.txt`) get a `_` in
    front, and the name is cut to 255 UTF-8 bytes, keeping its extension.
    """
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        c for c in name if unicodedata.category(c) not in ("Cc", "Cs", "Zl", "Zp") and c not in _BIDI_CONTROLS
    )
    name = _FORBIDDEN_CHARACTERS.sub("_", name).lstrip(". ").rstrip(". ")
    if not name:
        return FALLBACK_FILENAME
    if name.split(".", 1)[0].rstrip().lower() in _RESERVED_NAMES:
        name = "_" + name
    return _shortened(name)


def _shortened(name: str) -> str:
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, dot, extension = name, "", ""
    room = MAX_FILENAME_BYTES - len((dot + extension).encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip(". ") + dot + extension


def extension(filename: str) -> str:
    """The lower-case extension of a file name, without the dot ('' for none)."""
    stem, dot, suffix = filename.rpartition(".")
    return suffix.lower() if dot and stem else ""


def content_type(declared: str | None) -> str:
    """The declared media type, without parameters and in lower case; `application/octet-stream` when
    missing or not a media type."""
    value = (declared or "").split(";", 1)[0].strip().lower()
    return value if _CONTENT_TYPE.match(value) else OCTET_STREAM


def refusal(filename: str, media_type: str, head: bytes) -> str | None:
    """Why a file must not be kept (None when it may), from its name, its declared type and its
    first `SNIFF_BYTES` bytes."""
    if extension(filename) in REFUSED_EXTENSIONS:
        return f"files ending in .{extension(filename)} are not accepted"
    if media_type in REFUSED_CONTENT_TYPES:
        return f"files of type {media_type} are not accepted"
    for signature, kind in EXECUTABLE_SIGNATURES:
        if head.startswith(signature):
            return f"the file is {kind}; programs and scripts are not accepted"
    text = _sniffed_text(head[:SNIFF_BYTES])
    if _HTML_START.match(text) or _ACTIVE_MARKUP.search(text):
        return "the file is HTML, SVG or holds a script; such files are not accepted"
    return None


def _sniffed_text(head: bytes) -> bytes:
    """The bytes a browser would read as text: without a UTF-8 byte order mark, and UTF-16 as ASCII."""
    if head.startswith(_UTF16_BOMS):
        encoding = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        return head[2:].decode(encoding, errors="ignore").encode("ascii", errors="ignore")
    return head.removeprefix(_UTF8_BOM)
