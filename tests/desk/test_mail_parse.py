"""Reading raw mail: real-looking fixtures, broken MIME, odd charsets, missing headers, HTML."""

import random

import pytest

from tests.desk.mail_support import MARI, eml, make_mail
from tugi.desk.mail.parse import (
    decode_header_value,
    html_to_text,
    message_ids,
    parse,
    sanitise_html,
)

LIMIT = 20 * 1024 * 1024


def test_thunderbird_mail_in_estonian_is_read_whole():
    mail = parse(eml("thunderbird_new_case.eml"), max_file_bytes=LIMIT)

    assert mail.message_id == "<5f1c9e2a-7d3b-4c1e-9a0f-2b6d8e4c1a77@sotsiaalkindlustusamet.ee>"
    assert not mail.message_id_synthesised
    assert mail.sender_email == MARI
    assert mail.sender_name == "Mari Maasikas"
    # RFC 2047, split over two encoded words
    assert mail.subject == "Tere! SKAIS2 pensioni moodul ei avane. Tõrge, öösel ümber käivitus ära"
    assert "SKAIS2 pensioni moodul ei avane. Veateade: „Ühendus katkes“." in mail.body
    assert "õhtul sama. Äkki" in mail.body
    assert "<p>Tere!</p>" in mail.body_html
    assert mail.language == "et"
    assert mail.in_reply_to == [] and mail.references == []
    assert mail.attachments == []


def test_outlook_reply_in_windows_1257_with_only_in_reply_to():
    mail = parse(eml("outlook_reply.eml"), max_file_bytes=LIMIT)

    assert mail.sender_email == "juri.ounapuu@sotsiaalkindlustusamet.ee"
    assert mail.sender_name == "Jüri Õunapuu"
    assert "Tööriistade menüüs, mujal on kõik korras." in mail.body
    assert mail.in_reply_to == ["<tugi.case1.msg2@tugi.example>"]
    assert mail.references == []
    assert mail.thread_ids == ["<tugi.case1.msg2@tugi.example>"]


def test_thunderbird_reply_names_the_thread_newest_first():
    mail = parse(eml("thunderbird_reply.eml"), max_file_bytes=LIMIT)

    assert mail.thread_ids == [
        "<tugi.case1.msg2@tugi.example>",
        "<5f1c9e2a-7d3b-4c1e-9a0f-2b6d8e4c1a77@sotsiaalkindlustusamet.ee>",
    ]
    assert mail.subject.startswith("Re: [Tugi #1] Tere! SKAIS2")
    assert "Tänan!" in mail.body  # 8bit UTF-8 body


def test_broken_mime_and_an_unknown_charset_still_give_text():
    mail = parse(eml("broken_mime.eml"), max_file_bytes=LIMIT)

    # x-unknown-charset: not UTF-8, so Latin-1 — the Estonian letters survive
    assert mail.subject == "Aruanne tõrkus"
    assert mail.body == "Aruande tõmbamine katkeb, üks rida jääb puudu."
    assert [a.filename for a in mail.attachments] == ["aruanne.pdf"]
    assert "CloseBoundaryNotFoundDefect" in mail.defects


def test_raw_8bit_headers_are_decoded_as_utf8_then_latin1():
    utf8 = b"From: M\xc3\xa4rt <mart@example.ee>\r\nSubject: T\xc3\xb5rge\r\n\r\nx"
    latin = b"From: mart@example.ee\r\nSubject: T\xf5rge \xe4\r\n\r\nx"

    assert parse(utf8, max_file_bytes=LIMIT).sender_name == "Märt"
    assert parse(utf8, max_file_bytes=LIMIT).subject == "Tõrge"
    assert parse(latin, max_file_bytes=LIMIT).subject == "Tõrge ä"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?x-unknown?Q?Tere_=F5?=", "Tere õ"),
        ("=?utf-8?Q?T=C3=B5rge?= ja =?utf-8?B?w7Zo?=", "Tõrge ja öh"),
        ("=?utf-8?Q?broken=ZZ?=", "broken=ZZ"),
        ("plain\r\n folded", "plain folded"),
        (None, ""),
    ],
)
def test_header_decoding_never_fails(raw, text):
    assert decode_header_value(raw) == text


def test_broken_base64_in_a_header_gives_some_text():
    assert isinstance(decode_header_value("=?utf-8?B?!!!broken?="), str)


def test_missing_message_id_is_synthesised_from_the_bytes_and_stable():
    raw = eml("no_message_id_no_subject.eml")

    first = parse(raw, max_file_bytes=LIMIT)
    again = parse(raw, max_file_bytes=LIMIT)
    other = parse(raw + b"\n", max_file_bytes=LIMIT)

    assert first.message_id_synthesised
    assert first.message_id == again.message_id
    assert first.message_id.startswith("<sha256.") and first.message_id.endswith("@tugi.invalid>")
    assert other.message_id != first.message_id
    assert first.subject == ""
    assert "STAR-is ei näe" in first.body


def test_a_message_id_without_brackets_is_kept_and_garbage_is_replaced():
    bare = parse(b"From: a@b.ee\r\nMessage-ID: abc@b.ee\r\n\r\nx", max_file_bytes=LIMIT)
    garbage = parse(b"From: a@b.ee\r\nMessage-ID: no id here\r\n\r\nx", max_file_bytes=LIMIT)

    assert bare.message_id == "<abc@b.ee>"
    assert garbage.message_id_synthesised


def test_mail_without_from_has_no_sender():
    mail = parse(eml("no_from.eml"), max_file_bytes=LIMIT)
    assert mail.sender_email == ""


def test_html_only_mail_is_text_for_the_body_and_sanitised_for_display():
    mail = parse(eml("html_only_script.eml"), max_file_bytes=LIMIT)

    assert mail.subject == "HTML-kiri kõigega"
    assert "Tere! Kõik nupud on hallid." in mail.body
    assert "- esimene" in mail.body
    assert "alert" not in mail.body and "color: red" not in mail.body
    html = mail.body_html
    assert "<script" not in html and "alert" not in html
    assert "onload" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert "<style" not in html
    assert "tracker.example" not in html  # no remote images
    assert 'href="https://www.sotsiaalkindlustusamet.ee/"' in html
    assert "<b>nupud</b>" in html


def test_sanitiser_and_text_conversion_directly():
    dirty = '<a href="JaVaScRiPt:alert(1)" onclick="x()">a</a><iframe src="//evil"></iframe>'
    assert sanitise_html(dirty) == '<a rel="noopener noreferrer nofollow">a</a>'
    assert html_to_text("<p>a&amp;b</p><p>c<br>d</p>") == "a&b\n\nc\nd"


def test_attachments_are_collected_with_decoded_names():
    mail = parse(eml("attachments.eml"), max_file_bytes=LIMIT)

    names = [(a.filename, a.content_type) for a in mail.attachments]
    assert names == [("väljavõte.pdf", "application/pdf"), ("arve.pdf", "application/pdf")]
    assert mail.attachments[0].content.startswith(b"%PDF-1.4")
    assert mail.attachments[1].content.startswith(b"MZ")


def test_an_attachment_over_the_limit_is_refused_before_it_is_decoded():
    raw = make_mail(attachments=[("suur.pdf", "application/pdf", b"%PDF-" + b"x" * 50_000)])

    mail = parse(raw, max_file_bytes=10_000)

    (part,) = mail.attachments
    assert part.refused == "too_big"
    assert part.content == b""
    assert part.size > 10_000
    assert mail.body.startswith("Tere!")


def test_nul_and_control_characters_never_reach_the_text():
    raw = b"From: a@b.ee\r\nSubject: a\x00b\x07c\r\nContent-Type: text/plain\r\n\r\nx\x00y\tz\n"
    mail = parse(raw, max_file_bytes=LIMIT)
    assert mail.subject == "abc"
    assert mail.body == "xy\tz"


def test_forwarded_mail_is_kept_as_an_eml_file():
    inner = make_mail(subject="Algne kiri", body="Sisu")
    outer = (
        b"From: a@b.ee\r\nSubject: Fwd: Algne kiri\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nVaata allpool.\r\n--b1\r\n"
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n"
    )
    mail = parse(outer, max_file_bytes=LIMIT)

    assert mail.body == "Vaata allpool."
    (part,) = mail.attachments
    assert part.content_type == "message/rfc822"
    assert b"Algne kiri" in part.content


def test_references_are_parsed_in_order_and_once():
    assert message_ids("<a@b> <c@d>\r\n\t<a@b> junk <e@f>") == ["<a@b>", "<c@d>", "<e@f>"]


def test_auto_reply_headers_are_kept_for_the_guards():
    mail = parse(eml("auto_reply_exchange.eml"), max_file_bytes=LIMIT)
    assert mail.headers["auto-submitted"] == "auto-replied"
    assert parse(eml("bounce.eml"), max_file_bytes=LIMIT).content_type == "multipart/report"


@pytest.mark.parametrize("seed", range(40))
def test_mangled_mail_never_raises(seed):
    """Cut, flip and splice real fixtures: parsing must return something, never raise."""
    rng = random.Random(seed)
    names = [
        "thunderbird_new_case.eml",
        "outlook_reply.eml",
        "attachments.eml",
        "broken_mime.eml",
        "html_only_script.eml",
        "bounce.eml",
    ]
    raw = bytearray(eml(rng.choice(names)))
    for _ in range(rng.randint(1, 30)):
        operation = rng.random()
        position = rng.randrange(len(raw)) if raw else 0
        if operation < 0.4:
            raw[position : position + 1] = bytes([rng.randrange(256)])
        elif operation < 0.7:
            del raw[position : position + rng.randint(1, 50)]
        else:
            raw[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    mail = parse(bytes(raw), max_file_bytes=LIMIT)
    assert mail.message_id.startswith("<")
    assert isinstance(mail.body, str)
    assert "\x00" not in mail.body + mail.subject + mail.body_html


def test_empty_and_binary_input():
    for raw in (b"", b"\x00\xff\xfe" * 100, b"\r\n\r\n", b"Subject\r\n"):
        mail = parse(raw, max_file_bytes=LIMIT)
        assert mail.sender_email == ""
        assert mail.message_id_synthesised
