"""core/pdf_check.py (issue 13): an uploaded PDF is parsed, not sniffed — its cross-reference
points at its objects, it has a catalogue and a page, no encryption, nothing that acts on its own
(even inside a compressed object stream), and the byte limit is checked before parsing.

The page-level test (a booth's document) is in tests/virtual_expo/test_uploads.py.
"""

from __future__ import annotations

import os

import pytest

from core import pdf_check
from core.errors import ValidationFailed
from tests.upload_samples import (
    minimal_pdf,
    object_stream,
    pdf_from_objects,
    upload,
    weasyprint_pdf,
)

PDF_ACTIVE = (
    "Tệp PDF có nội dung tự chạy hoặc tệp đính kèm (JavaScript, hành động khi mở, tệp nhúng…); "
    "hãy xuất lại thành PDF thường rồi tải lên."
)
PDF_DAMAGED = "Tệp PDF bị hỏng hoặc không đọc được; hãy xuất lại tệp PDF rồi tải lên lần nữa."


def pdf_refusal(data: bytes) -> str:
    """The one message ``check_pdf`` refuses ``data`` with, as the trader reads it."""
    with pytest.raises(ValidationFailed) as exc:
        pdf_check.check_pdf(upload(data, "tai-lieu.pdf", "application/pdf"))
    ((_field, messages),) = exc.value.fields.items()
    return str(messages[0])


def test_a_small_valid_pdf_is_accepted_as_it_is():
    data = minimal_pdf()

    assert pdf_check.check_pdf(upload(data, "bang-gia.pdf", "application/pdf")) == data


def test_a_weasyprint_pdf_with_object_and_xref_streams_is_accepted():
    data = weasyprint_pdf()
    assert b"/ObjStm" in data and b"/XRef" in data  # its pages are packed, not in plain sight

    assert pdf_check.pdf_problem(data) is None


def test_a_pdf_opening_at_its_first_page_is_accepted():
    # LibreOffice writes /OpenAction [page /XYZ …]: a destination, not an action.
    assert pdf_check.pdf_problem(minimal_pdf(b"/OpenAction [3 0 R /XYZ null null 0]")) is None


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n" + os.urandom(5000), id="junk"),
        pytest.param(b"%PDF-1.4\nthen anything at all\n%%EOF\n", id="no-xref"),
        pytest.param(minimal_pdf()[:-30], id="truncated"),
        pytest.param(
            minimal_pdf().replace(b"startxref\n", b"startxref\n9").rstrip(), id="xref-outside"
        ),
        pytest.param(
            minimal_pdf().replace(b"0000000015 00000 n", b"0000000099 00000 n"),
            id="xref-entry-not-at-its-object",
        ),
    ],
)
def test_a_pdf_that_does_not_parse_is_refused(data):
    assert pdf_refusal(data) == PDF_DAMAGED


def test_only_a_pdf_header_makes_a_pdf():
    assert pdf_refusal(b"\x89PNG\r\n\x1a\n" + minimal_pdf()) == "Tài liệu phải là tệp PDF."


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            minimal_pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), id="javascript"
        ),
        pytest.param(
            minimal_pdf(b"/OpenAction 5 0 R", extra_objects=(b"<< /S /GoTo /D [3 0 R] >>",)),
            id="open-action",
        ),
        pytest.param(
            minimal_pdf(page_extra=b"/AA << /O << /S /Launch /F (cmd.exe) >> >>"), id="launch"
        ),
        pytest.param(
            minimal_pdf(
                b"/Names << /EmbeddedFiles 5 0 R >>",
                extra_objects=(b"<< /Names [(a.exe) << /Type /Filespec >>] >>",),
            ),
            id="embedded-file",
        ),
        pytest.param(
            minimal_pdf(b"/Names << /J#61vaScript 5 0 R >>", extra_objects=(b"<< >>",)),
            id="hex-escaped-name",
        ),
        pytest.param(
            minimal_pdf(extra_objects=(object_stream(b"<< /S /JavaScript /JS (x) >>"),)),
            id="inside-a-compressed-object-stream",
        ),
    ],
)
def test_a_pdf_that_acts_on_its_own_is_refused(data):
    assert pdf_refusal(data) == PDF_ACTIVE


def test_active_looking_bytes_inside_a_binary_stream_are_not_an_action():
    blob = b"\xff\xd8/JS /Launch /AA (" + bytes(range(256))
    image = b"<< /Length %d /Filter /DCTDecode >>\nstream\n" % len(blob) + blob + b"\nendstream"

    assert pdf_check.pdf_problem(minimal_pdf(extra_objects=(image,))) is None


def test_an_encrypted_pdf_is_refused():
    data = minimal_pdf(
        trailer_extra=b"/Encrypt 5 0 R ", extra_objects=(b"<< /Filter /Standard /V 2 >>",)
    )

    assert pdf_refusal(data) == (
        "Tệp PDF có mật khẩu hoặc bị mã hóa; hãy xuất lại tệp không đặt mật khẩu."
    )


def test_a_pdf_without_pages_is_refused():
    data = pdf_from_objects(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )

    assert pdf_refusal(data) == "Tệp PDF không có trang nào."


def test_a_deflate_bomb_in_an_object_stream_is_refused():
    import zlib

    packed = zlib.compress(b" " * (80 * 1024 * 1024), 9)
    bomb = (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
        + packed
        + b"\nendstream"
    )

    assert pdf_refusal(minimal_pdf(extra_objects=(bomb,))) == PDF_DAMAGED


def test_a_pdf_over_the_limit_is_refused_before_parsing(settings):
    data = minimal_pdf()
    settings.MAX_UPLOAD_PDF_BYTES = len(data) - 1

    assert pdf_refusal(data) == "Tài liệu PDF tối đa 0 MB."
