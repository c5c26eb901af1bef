"""What the service keeps of an uploaded file: a safe name, a plain media type, and no programs or HTML."""

from __future__ import annotations

import pytest

from tickets.domain.files import MAX_FILENAME_BYTES, content_type, refusal, safe_filename

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\Desktop\\notes.txt", "notes.txt"),
        ("a\x00b\x1f\x7fc.txt", "abc.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # the bidi override would show it as ...exe.png
        ('what?<is>:"this"|*.txt', "what__is___this___.txt"),
        ("CON", "_CON"),
        ("lpt1.txt", "_lpt1.txt"),
        ("console.txt", "console.txt"),
        ("  .hidden. . ", "hidden"),
        ("...", "attachment"),
        ("", "attachment"),
        ("dir/", "attachment"),
        ("résumé.pdf", "résumé.pdf"),
        ("line\u2028break.txt", "linebreak.txt"),
    ],
)
def test_file_names_are_made_safe(raw: str, kept: str) -> None:
    assert safe_filename(raw) == kept


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    name = safe_filename("é" * 300 + ".pdf")
    assert len(name.encode()) <= MAX_FILENAME_BYTES
    assert name.endswith("é.pdf")
    assert safe_filename("x" * 300).startswith("x") and len(safe_filename("x" * 300)) == MAX_FILENAME_BYTES


@pytest.mark.parametrize(
    ("declared", "kept"),
    [
        ("image/PNG", "image/png"),
        ("text/plain; charset=latin-1", "text/plain"),
        (None, "application/octet-stream"),
        ("", "application/octet-stream"),
        ("not a type", "application/octet-stream"),
        ("text/plain\r\nX-Injected: 1", "application/octet-stream"),
    ],
)
def test_the_declared_type_is_kept_plain(declared: str | None, kept: str) -> None:
    assert content_type(declared) == kept


@pytest.mark.parametrize(
    ("filename", "media_type", "head"),
    [
        ("setup.exe", "application/octet-stream", b"anything"),
        ("run.BAT", "text/plain", b"echo hi"),
        ("x.cmd", "text/plain", b"echo hi"),
        ("x.sh", "text/plain", b"echo hi"),
        ("app.js", "text/plain", b"alert(1)"),
        ("page.html", "text/plain", b"hello"),
        ("page.htm", "text/plain", b"hello"),
        ("logo.svg", "image/png", PNG),
        ("notes.txt", "text/html", b"hello"),
        ("notes.txt", "image/svg+xml", b"hello"),
        ("notes.txt", "application/javascript", b"hello"),
        # by content, whatever the name and type say
        ("photo.png", "image/png", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("photo.png", "image/png", b"\x7fELF\x02\x01\x01\x00"),
        ("photo.png", "image/png", b"\xcf\xfa\xed\xfe\x07\x00\x00\x01"),
        ("photo.png", "image/png", b"\xca\xfe\xba\xbe\x00\x00\x00\x02"),
        ("notes.txt", "text/plain", b"#!/bin/sh\nrm -rf /\n"),
        ("notes.txt", "text/plain", b"<!DOCTYPE html><p>hi"),
        ("notes.txt", "text/plain", b"\n\t  <HTML><body>"),
        ("notes.txt", "text/plain", b"\xef\xbb\xbf<html>"),
        ("notes.txt", "text/plain", b"<p>hello</p>"),
        ("notes.txt", "text/plain", b"<a href=x>"),
        ("notes.txt", "text/plain", b"<!-- x -->"),
        ("notes.txt", "text/plain", b"plain words first, then <script>alert(1)</script>"),
        ("notes.txt", "text/plain", b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("notes.txt", "text/plain", b'<svg onload="alert(1)">'),
        ("notes.txt", "text/plain", "\ufeff<html>".encode("utf-16-le")),
        ("notes.txt", "text/plain", b"\xfe\xff" + "<script>".encode("utf-16-be")),
    ],
)
def test_programs_scripts_and_html_are_refused(filename: str, media_type: str, head: bytes) -> None:
    assert refusal(filename, media_type, head) is not None


@pytest.mark.parametrize(
    ("filename", "media_type", "head"),
    [
        ("photo.png", "image/png", PNG),
        ("report.pdf", "application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3"),
        ("notes.txt", "text/plain", b"The html element is where a page starts, says the manual."),
        ("log.txt", "text/plain", b"GET /index.html 200\nPOST /scripts/run 500\n"),
        ("data.csv", "text/csv", b"name,mz\nann,1\n"),
        ("archive.zip", "application/zip", b"PK\x03\x04index.html"),
        ("README", "application/octet-stream", b"plain"),
        # the markup search stops where browsers stop sniffing
        ("notes.txt", "text/plain", b"x" * 1024 + b"<script>"),
    ],
)
def test_ordinary_files_are_kept(filename: str, media_type: str, head: bytes) -> None:
    assert refusal(filename, media_type, head) is None
