"""Raw mail to `InboundMail`: headers, bodies, attachments, trimmed history, noise, and mailboxes to import."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.mail.parsing import count_mails, parse_mail, read_mailbox


def mail(
    body: str = "The printer is on fire.\n",
    *,
    sender: str = "Ann Example <Ann@Example.COM>",
    subject: str = "Printer on fire",
    message_id: str | None = "<first@example.com>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "acme@tickets.localhost"
    message["Subject"] = subject
    if message_id is not None:
        message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def body_of(text: str, **kwargs: str) -> str:
    return parse_mail(mail(text, **kwargs).as_bytes()).body


# --- Headers ------------------------------------------------------------------------------------------


def test_plain_mail_gives_sender_subject_ids_and_body() -> None:
    parsed = parse_mail(
        mail(
            "Hello,\n\nThe printer is on fire.\n",
            subject="Printer   on\tfire",
            In_Reply_To="<earlier@tickets.localhost>",
            References="<first@tickets.localhost> <earlier@tickets.localhost>",
        ).as_bytes()
    )

    assert parsed.message_id == "first@example.com"
    assert (parsed.sender, parsed.sender_name) == ("ann@example.com", "Ann Example")
    assert parsed.subject == "Printer on fire"
    assert parsed.body == "Hello,\n\nThe printer is on fire."
    assert parsed.in_reply_to == ("earlier@tickets.localhost",)
    assert parsed.references == ("first@tickets.localhost", "earlier@tickets.localhost")
    assert parsed.attachments == ()
    assert parsed.noise is None


def test_a_sender_without_display_name_is_named_by_the_local_part() -> None:
    parsed = parse_mail(mail(sender="Bob.Smith@Example.org").as_bytes())

    assert (parsed.sender, parsed.sender_name) == ("bob.smith@example.org", "Bob.Smith")


def test_encoded_words_in_subject_and_sender_name_are_decoded() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>\r\n"
        b"Subject: =?iso-8859-1?q?Dr=FCcker?= =?utf-8?b?aXN0IGthcHV0dA==?=\r\n"
        b"  und so\r\n"
        b"Message-ID: <m1@example.de>\r\n"
        b"\r\n"
        b"Hallo\r\n"
    )
    parsed = parse_mail(raw)

    assert parsed.sender_name == "Jörg Müller"
    assert parsed.subject == "Drückerist kaputt und so"


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    raw = "From: Zoë <zoe@example.com>\r\nSubject: Café à côté\r\n\r\nBonjour\r\n".encode()

    parsed = parse_mail(raw)

    assert (parsed.sender_name, parsed.subject) == ("Zoë", "Café à côté")


def test_a_mail_without_subject_says_so() -> None:
    assert parse_mail(mail(subject="  ").as_bytes()).subject == "(no subject)"
    assert parse_mail(b"From: a@example.com\r\n\r\nhi\r\n").subject == "(no subject)"


def test_a_missing_message_id_gets_a_stand_in_stable_for_the_same_bytes() -> None:
    raw = mail(message_id=None).as_bytes()
    other = mail("Something else", message_id=None).as_bytes()

    stand_in = parse_mail(raw).message_id

    assert stand_in.startswith("sha256-") and stand_in.endswith("@missing")
    assert parse_mail(raw).message_id == stand_in
    assert parse_mail(other).message_id != stand_in
    assert parse_mail(b"From: a@example.com\r\nMessage-ID: <  >\r\n\r\nhi").message_id.endswith("@missing")


def test_message_ids_lose_brackets_and_whitespace() -> None:
    raw = b"From: a@example.com\r\nMessage-ID:\r\n <abc.123@example.com> \r\nIn-Reply-To: bare@example.com\r\n\r\nx"

    parsed = parse_mail(raw)

    assert parsed.message_id == "abc.123@example.com"
    assert parsed.in_reply_to == ("bare@example.com",)


# --- Bodies -------------------------------------------------------------------------------------------


def test_html_only_mail_becomes_readable_markdownish_text() -> None:
    message = mail()
    message.set_content(
        "<html><head><title>ignored</title><style>p { color: red }</style></head><body>"
        "<p>Hello&nbsp;team,</p><p>It broke<br>twice today.</p>"
        "<ul><li>first</li><li>second</li></ul>"
        "<ol><li>one</li><li>two</li></ol>"
        '<p>See <a href="https://example.com/log">the log</a> or <a href="https://example.com">https://example.com</a>.</p>'
        "<script>alert('no')</script>"
        "</body></html>",
        subtype="html",
    )

    assert parse_mail(message.as_bytes()).body == (
        "Hello team,\n\nIt broke\ntwice today.\n\n- first\n- second\n\n1. one\n2. two\n\n"
        "See the log (https://example.com/log) or https://example.com."
    )


def test_multipart_alternative_prefers_the_plain_text() -> None:
    message = mail("Plain words.")
    message.add_alternative("<p>HTML <b>words</b>.</p>", subtype="html")

    parsed = parse_mail(message.as_bytes())

    assert parsed.body == "Plain words."
    assert parsed.attachments == ()


def test_bodies_in_unknown_or_wrong_charsets_are_decoded_with_replacement() -> None:
    unknown = (
        b"From: a@example.com\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\ncaf\xc3\xa9 \xff\r\n"
    )
    mislabelled = b"From: a@example.com\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\ncaf\xe9\r\n"
    not_a_text_codec = b"From: a@example.com\r\nContent-Type: text/plain; charset=base64\r\n\r\nhello\r\n"

    assert parse_mail(unknown).body == "café \ufffd"
    assert parse_mail(mislabelled).body == "café"
    assert parse_mail(not_a_text_codec).body == "hello"


def test_line_endings_are_normalized_and_trailing_whitespace_stripped() -> None:
    raw = b"From: a@example.com\r\n\r\nfirst line   \r\nsecond\rthird\t\r\n\r\n\r\n"

    assert parse_mail(raw).body == "first line\nsecond\nthird"


# --- Attachments --------------------------------------------------------------------------------------


def test_attachments_and_inline_images_are_kept_but_body_parts_are_not() -> None:
    message = mail("See the screenshot.")
    message.add_alternative('<p>See <img src="cid:shot"> the screenshot.</p>', subtype="html")
    html = message.get_payload()[1]
    html.add_related(
        b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png", cid="<shot>", filename="shot.png"
    )
    message.add_attachment(
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nfake", maintype="application", subtype="pdf", filename="invoice.pdf"
    )

    parsed = parse_mail(message.as_bytes())

    assert parsed.body == "See the screenshot."
    assert [(part.filename, part.content_type, part.data) for part in parsed.attachments] == [
        ("shot.png", "image/png", b"\x89PNG\r\n\x1a\nfake"),
        ("invoice.pdf", "application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nfake"),
    ]


def test_an_attachment_without_name_is_numbered_with_an_extension_for_its_type() -> None:
    message = mail("Two files.")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="data.csv")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", disposition="attachment")
    message.add_attachment(b"\xff\xd8\xff", maintype="image", subtype="jpeg", disposition="inline")

    names = [part.filename for part in parse_mail(message.as_bytes()).attachments]

    assert names == ["data.csv", "attachment-2.pdf", "attachment-3.jpg"]


def test_an_attached_mail_becomes_an_eml_file_named_after_its_subject() -> None:
    inner = mail("Original text.", subject="Quote 2024/05")
    untitled = mail("No subject here.", subject="")
    del untitled["Subject"]
    outer = MIMEMultipart()
    outer["From"] = "ann@example.com"
    outer["Subject"] = "Have a look"
    outer.attach(MIMEText("See attached.", "plain"))
    outer.attach(MIMEMessage(inner))
    outer.attach(MIMEMessage(untitled))

    parsed = parse_mail(outer.as_bytes())

    assert parsed.body == "See attached."
    assert [(part.filename, part.content_type) for part in parsed.attachments] == [
        ("Quote 2024_05.eml", "message/rfc822"),
        ("forwarded.eml", "message/rfc822"),
    ]
    assert parse_mail(parsed.attachments[0].data).body == "Original text."


# --- Trimming -----------------------------------------------------------------------------------------


def test_a_gmail_reply_loses_the_quoted_history() -> None:
    body = (
        "Thanks, that fixed it.\n"
        "\n"
        "On Mon, 1 Jan 2024 at 10:00, Acme Support <\n"
        "acme@tickets.localhost> wrote:\n"
        "\n"
        "> Please restart the printer.\n"
        ">\n"
        "> Regards, Support\n"
    )

    assert body_of(body) == "Thanks, that fixed it."


def test_an_html_gmail_reply_loses_the_quoted_history() -> None:
    message = mail()
    message.set_content(
        '<div dir="ltr">Works now.<br></div><br><div class="gmail_quote"><div class="gmail_attr">'
        "On Tue, Jan 2, 2024 at 9:15 AM Support &lt;acme@tickets.localhost&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote"><div>Try again?</div></blockquote></div>',
        subtype="html",
    )

    assert parse_mail(message.as_bytes()).body == "Works now."


def test_an_outlook_original_message_block_is_trimmed() -> None:
    body = (
        "Still broken.\n\n"
        "-----Original Message-----\n"
        "From: Acme Support <acme@tickets.localhost>\n"
        "Sent: Monday, January 1, 2024 10:00 AM\n"
        "To: Ann <ann@example.com>\n"
        "Subject: RE: Printer on fire\n\n"
        "Please restart it.\n"
    )

    assert body_of(body) == "Still broken."


def test_an_outlook_header_block_without_separator_is_trimmed() -> None:
    body = (
        "Still broken.\n\n"
        "________________________________\n"
        "From: Acme Support <acme@tickets.localhost>\n"
        "Sent: Monday, January 1, 2024 10:00 AM\n"
        "To: Ann <ann@example.com>\n"
        "Subject: RE: Printer on fire\n\n"
        "Please restart it.\n"
    )
    bare = body.replace("________________________________\n", "")

    assert body_of(body) == "Still broken."
    assert body_of(bare) == "Still broken."


def test_an_outlook_html_reply_loses_the_quoted_history() -> None:
    message = mail()
    message.set_content(
        '<div class="WordSection1"><p class="MsoNormal">Still broken.<o:p></o:p></p>'
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt">'
        '<p class="MsoNormal"><b>From:</b> Acme Support &lt;acme@tickets.localhost&gt;<br>'
        "<b>Sent:</b> Monday, January 1, 2024 10:00 AM<br><b>To:</b> Ann &lt;ann@example.com&gt;<br>"
        "<b>Subject:</b> RE: Printer on fire</p></div><p>Please restart it.</p></div>",
        subtype="html",
    )

    assert parse_mail(message.as_bytes()).body == "Still broken."


def test_header_like_lines_in_the_writers_own_words_are_kept() -> None:
    body = "Our trip:\nFrom: Berlin\nDate: 12 May\nTo: Munich\nPlease rebook it."

    assert body_of(body) == body


def test_a_signature_after_the_delimiter_is_trimmed() -> None:
    assert body_of("It broke again.\n\n-- \nAnn Example\nHead of Printing\n") == "It broke again."
    assert body_of("It broke again.\n--\nAnn\n") == "It broke again."
    assert body_of("It broke again.\n\nSent from my iPhone\n") == "It broke again."


def test_a_trailing_block_of_quoted_lines_is_trimmed() -> None:
    assert body_of("Yes, please.\n\n> Shall we replace it?\n>\n> Bob\n") == "Yes, please."


def test_answers_written_between_quoted_lines_are_kept() -> None:
    body = (
        "On Mon, 1 Jan 2024 at 10:00, Support <acme@tickets.localhost> wrote:\n"
        "> Which model?\n"
        "The X-200.\n"
        "> Since when?\n"
        "Tuesday.\n"
    )

    assert body_of(body) == body.rstrip("\n")


def test_prose_ending_in_wrote_without_a_date_is_not_history() -> None:
    body = "On the forum, someone wrote:\nturn it off and on.\nThat did not help."

    assert body_of(body) == body


def test_a_forwarded_mail_keeps_what_was_forwarded() -> None:
    body = (
        "Please look at this.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Vendor <vendor@example.net>\n"
        "Date: Mon, 1 Jan 2024 at 10:00\n"
        "Subject: Your order\n"
        "To: Ann <ann@example.com>\n\n"
        "Your order has shipped.\n"
    )

    assert body_of(body, subject="Fwd: Your order") == body.rstrip("\n")
    assert body_of(body) == body.rstrip("\n")  # the marker line is enough


def test_trimming_never_leaves_an_empty_body() -> None:
    assert body_of("> only a quote\n> nothing else\n") == "> only a quote\n> nothing else"
    assert body_of("-- \nAnn\n") == "--\nAnn"


# --- Noise --------------------------------------------------------------------------------------------


def bounce() -> bytes:
    # As Postfix sends it: a human-readable part, the machine-readable status, the returned mail.
    return (
        b"From: Mail Delivery System <bounces@mx.example.com>\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\nFinal-Recipient: rfc822; nobody@example.com\r\n"
        b"Status: 5.1.1\r\n\r\n"
        b"--r\r\nContent-Type: message/rfc822\r\n\r\n" + mail().as_bytes() + b"\r\n--r--\r\n"
    )


@pytest.mark.parametrize(
    ("raw", "noise"),
    [
        (bounce(), "bounce"),
        (mail(sender="MAILER-DAEMON@mx.example.com").as_bytes(), "bounce"),
        (mail(sender="Postmaster <postmaster@example.com>").as_bytes(), "bounce"),
        (mail(Auto_Submitted="auto-replied").as_bytes(), "auto-submitted: auto-replied"),
        (
            mail(Auto_Submitted="Auto-Generated; owner-email=x@example.com").as_bytes(),
            "auto-submitted: auto-generated",
        ),
        (mail(X_Autoreply="yes").as_bytes(), "auto-reply"),
        (mail(X_Autorespond="Out of office").as_bytes(), "auto-reply"),
        (mail(Precedence="Bulk").as_bytes(), "precedence: bulk"),
        (mail(Precedence="junk").as_bytes(), "precedence: junk"),
        (mail(Precedence="list").as_bytes(), "precedence: list"),
        (mail(List_Id="<news.example.com>").as_bytes(), "mailing list"),
        (mail(List_Unsubscribe="<mailto:leave@example.com>").as_bytes(), "mailing list"),
        (mail(sender="Acme <acme@Tickets.Localhost>").as_bytes(), "from our own address"),
        (mail(sender="undisclosed-recipients:;").as_bytes(), "no sender"),
        (b"Subject: who?\r\n\r\nhi\r\n", "no sender"),
    ],
)
def test_noise_says_why_the_mail_creates_nothing(raw: bytes, noise: str) -> None:
    assert parse_mail(raw, our_domains=["tickets.localhost"]).noise == noise


def test_ordinary_mail_is_not_noise() -> None:
    raw = mail(Auto_Submitted="no", Precedence="normal").as_bytes()

    assert parse_mail(raw, our_domains=["tickets.localhost"]).noise is None


# --- Malformed input ----------------------------------------------------------------------------------

MALFORMED = [
    b"",
    b"\x00\xff\xfe garbage",
    b"From: <<<@>>>\r\nSubject: =?utf-8?b?!!!?=\r\nMessage-ID: <\r\n\r\n",
    b"From: a@example.com\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n",
    b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ncut off',
    b"From: a@example.com\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%not base64%%%\r\n",
    b"From: a@example.com\r\nContent-Type: text/html\r\n\r\n<![bogus[ <p>x</p> <a href=",
    b"From: a@example.com\r\nContent-Type: ;;;/\x80\r\nContent-Disposition: attachment; filename*=x''%ff\r\n\r\nx",
    b'From: "unterminated <a@example.com\r\nTo: ,,,@,\r\nReferences: <<>><>\r\n\r\nbody',
    b"From: a@example.com\r\nContent-Type: message/rfc822\r\n\r\nnot a mail",
    b"From: a@example.com\r\n" + b'Content-Type: multipart/mixed; boundary="n"\r\n\r\n--n\r\n' * 200,
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_mail_is_parsed_without_raising(raw: bytes) -> None:
    parsed = parse_mail(raw)

    assert parsed.message_id
    assert parsed.subject


def test_a_body_cut_off_mid_part_keeps_its_text() -> None:
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\ncut off"
    )

    assert parse_mail(raw).body == "cut off"


# --- Properties ---------------------------------------------------------------------------------------

# Text as people type it: no control characters, no surrogates, no Unicode line separators (which
# `EmailMessage.set_content` would turn into line breaks).
typed = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), include_characters="\n\t")
# Words, spaces and punctuation without any character a quote, signature or Outlook header marker needs.
unmarked = st.characters(categories=("L", "N", "Zs"), include_characters=".,;!?'\"()\t")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_parse_mail_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    parsed = parse_mail(raw)

    # Every string is valid Unicode: undecodable bytes must not reach the event store as surrogates.
    strings = [parsed.message_id, parsed.sender, parsed.sender_name, parsed.subject, parsed.body]
    for text in [
        *strings,
        *parsed.in_reply_to,
        *parsed.references,
        *(part.filename for part in parsed.attachments),
    ]:
        text.encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1000))
def test_parse_mail_never_raises_on_arbitrary_bytes_after_mime_headers(tail: bytes) -> None:
    head = b'From: a@example.com\r\nContent-Type: multipart/alternative; boundary="x"\r\n\r\n--x\r\n'
    parse_mail(head + tail)


@settings(max_examples=150, deadline=None)
@given(
    body=st.text(typed, max_size=400),
    subject=st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))),
)
def test_arbitrary_text_in_a_valid_mail_parses_and_keeps_its_subject(body: str, subject: str) -> None:
    parsed = parse_mail(mail(body, subject=subject).as_bytes())

    assert parsed.subject == (" ".join(subject.split()) or "(no subject)")
    assert parsed.sender == "ann@example.com"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(unmarked, max_size=60), max_size=12))
def test_a_plain_body_without_markers_comes_back_unchanged(lines: list[str]) -> None:
    body = "\n".join(lines)

    expected = "\n".join(line.rstrip() for line in lines).strip("\n")
    assert body_of(body) == expected


# --- Mailboxes ----------------------------------------------------------------------------------------


def test_a_single_eml_file_is_one_mail(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(mail().as_bytes())

    assert count_mails(path) == 1
    assert list(read_mailbox(path)) == [path.read_bytes()]


def test_a_directory_yields_every_eml_inside_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/2.eml", "a.eml", "b/1.EML"):
        (tmp_path / name).write_bytes(mail(subject=name).as_bytes())
    (tmp_path / "notes.txt").write_text("not mail")

    subjects = [parse_mail(raw).subject for raw in read_mailbox(tmp_path)]

    assert subjects == ["a.eml", "b/1.EML", "b/2.eml"]
    assert count_mails(tmp_path) == 3


def test_an_mbox_yields_each_mail_with_from_lines_unescaped(tmp_path: Path) -> None:
    path = tmp_path / "archive"
    box = mailbox.mbox(path)
    for number in range(3):
        box.add(mail(f"Mail {number}.\nFrom here on it is broken.\n", message_id=f"<m{number}@example.com>"))
    box.flush()
    box.close()
    assert b"\n>From here on" in path.read_bytes()

    parsed = [parse_mail(raw) for raw in read_mailbox(path)]

    assert count_mails(path) == 3
    assert [item.message_id for item in parsed] == ["m0@example.com", "m1@example.com", "m2@example.com"]
    assert parsed[1].body == "Mail 1.\nFrom here on it is broken."


def test_a_path_that_is_no_mailbox_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Subject: hi\n\nnot an mbox\n")

    with pytest.raises(ValueError, match=r"neither an \.eml file nor an mbox"):
        count_mails(text)
    with pytest.raises(ValueError, match="neither"):
        list(read_mailbox(text))
    with pytest.raises(ValueError, match="not a file or directory"):
        list(read_mailbox(tmp_path / "missing.mbox"))


def test_parsing_an_attached_pdf_like_part_keeps_its_bytes() -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 4
    message = MIMEMultipart()
    message["From"] = "ann@example.com"
    message.attach(MIMEText("Invoice attached.", "plain"))
    part = MIMEApplication(data, "pdf")
    part.add_header("Content-Disposition", "attachment", filename="Rechnung März.pdf")
    message.attach(part)

    (attachment,) = parse_mail(message.as_bytes()).attachments

    assert (attachment.filename, attachment.content_type, attachment.data) == (
        "Rechnung März.pdf",
        "application/pdf",
        data,
    )
