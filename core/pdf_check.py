"""An uploaded PDF is parsed, not sniffed, before anything is written (issue 13).

``check_pdf`` reads the upload within ``MAX_UPLOAD_PDF_BYTES`` (``core.uploads.read_upload``)
and accepts it, as sent, only when ``pdf_problem`` finds none: the header, ``startxref`` → a
cross-reference table or stream inside the file whose every entry points at its object, a
catalogue, at least one page, no encryption, and none of the entries that make a reader act on
its own (JavaScript, OpenAction other than "open at this page", Launch, embedded files, …).
Object streams are inflated within a budget. Enough of ISO 32000 for that, no more: the file is
stored as it came, never rewritten.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from django.core.files.base import File
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from .errors import ValidationFailed
from .uploads import PDF, max_bytes, megabytes, read_upload


class _PdfRefused(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _damaged() -> _PdfRefused:
    return _PdfRefused(
        _("Tệp PDF bị hỏng hoặc không đọc được; hãy xuất lại tệp PDF rồi tải lên lần nữa.")
    )


_PDF_HEADER = re.compile(rb"%PDF-(?:1\.[0-7]|2\.0)[\r\n]")
_PDF_TAIL = re.compile(rb"startxref\s+(\d{1,10})\s+%%EOF\s*\Z")
_OBJ_AT = re.compile(rb"\s*(\d{1,10})\s+(\d{1,5})\s+obj(?![A-Za-z])")
_OBJ_START = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj(?![A-Za-z])")
_STREAM_KW = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_ENDSTREAM = re.compile(rb"\s*endstream(?![A-Za-z])")
_XREF_SUBSECTION = re.compile(rb"\s*(\d{1,10})\s+(\d{1,7})(?=\s)")
_XREF_ROW = re.compile(rb"\s*(\d{10})\s(\d{5})\s([nf])")
_TRAILER = re.compile(rb"\s*trailer\s*")
_EOL = re.compile(rb"[\r\n]")
_NAME = re.compile(rb"/([^\s/\[\]<>(){}%]*)")
_NAME_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_END = rb"(?=[\s/\[\]<>(){}%]|\Z)"
_PAGE = re.compile(rb"/Type\s*/Page" + _END)
_CATALOG = re.compile(rb"/Type\s*/Catalog" + _END)
_LENGTH = re.compile(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R\b)")
_ACTIVE = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|AA|SubmitForm|ImportData|GoToE|GoToR)"
    + _END
)
_OPEN_ACTION = re.compile(rb"/OpenAction\s*(.)", re.DOTALL)
_MAX_XREF_SECTIONS = 64
_MAX_XREF_ENTRIES = 1_000_000
_INFLATE_BUDGET = 64 * 1024 * 1024


def _pdf_names(text: bytes) -> bytes:
    """Names with their #xx escapes decoded: /J#61vaScript is /JavaScript to a reader."""
    return _NAME.sub(lambda m: b"/" + _NAME_HEX.sub(lambda h: bytes([int(h[1], 16)]), m[1]), text)


def _ref(text: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+)\s+\d+\s+R" + _END, text)
    return int(m[1]) if m else None


def _int(text: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+)" + _END, text)
    return int(m[1]) if m else None


def _ints(text: bytes, key: bytes) -> list[int] | None:
    m = re.search(rb"/" + key + rb"\s*\[([\d\s]*)\]", text)
    return [int(v) for v in m[1].split()] if m else None


class _PdfReader:
    """Enough of ISO 32000 to know a file is the PDF it claims to be."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.inflated = 0

    # - lexical helpers -

    def dict_end(self, pos: int) -> int:
        """The offset just after the dictionary that starts at ``pos`` (``<<``)."""
        data, depth, i, n = self.data, 0, pos, len(self.data)
        if not data.startswith(b"<<", pos):
            raise _damaged()
        while i < n:
            if data.startswith(b"<<", i):
                depth, i = depth + 1, i + 2
            elif data.startswith(b">>", i):
                depth, i = depth - 1, i + 2
                if depth == 0:
                    return i
            elif data[i] == 0x28:  # ( a literal string, with nesting and escapes
                i = self._string_end(i)
            elif data[i] == 0x3C:  # < a hex string
                end = data.find(b">", i)
                if end < 0:
                    break
                i = end + 1
            elif data[i] == 0x25:  # % a comment, to the end of the line
                eol = _EOL.search(data, i)
                i = eol.end() if eol else n
            else:
                i += 1
        raise _damaged()

    def _string_end(self, i: int) -> int:
        data, depth, n = self.data, 0, len(self.data)
        while i < n:
            c = data[i]
            if c == 0x5C:  # backslash escape
                i += 2
                continue
            if c == 0x28:
                depth += 1
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise _damaged()

    def stream_payload(self, pos: int, dictionary: bytes) -> tuple[bytes, int]:
        """The payload of the stream whose keyword is at ``pos``, and the offset after it."""
        keyword = _STREAM_KW.match(self.data, pos)
        if keyword is None:
            raise _damaged()
        start = keyword.end()
        length = _LENGTH.search(dictionary)
        if length is not None:
            end = start + int(length[1])
            after = _ENDSTREAM.match(self.data, end) if end <= len(self.data) else None
            if after is not None:
                return self.data[start:end], after.end()
        found = re.compile(rb"endstream(?![A-Za-z])").search(self.data, start)
        if found is None:
            raise _damaged()
        return self.data[start : found.start()].rstrip(b"\r\n"), found.end()

    def inflate(self, payload: bytes, dictionary: bytes) -> bytes:
        filters = re.search(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>(){}%]+)", dictionary)
        if filters is None:
            return payload
        if re.findall(rb"/([^\s/\[\]<>(){}%]+)", filters[1]) != [b"FlateDecode"]:
            raise _damaged()
        budget = _INFLATE_BUDGET - self.inflated
        decompressor = zlib.decompressobj()
        try:
            out = decompressor.decompress(payload, budget)
        except zlib.error:
            raise _damaged() from None
        if decompressor.unconsumed_tail:
            raise _damaged()  # a decompression bomb, or far more structure than any document
        self.inflated += len(out)
        return out

    # - cross-reference -

    def read_xref(self, start: int) -> tuple[dict[int, tuple[int, int]], list[bytes]]:
        """Every section from ``startxref`` back through /Prev: objects (newest entry wins) as
        number -> (type 0 free / 1 at offset / 2 in object stream, offset or stream), and the
        trailers, newest first."""
        entries: dict[int, tuple[int, int]] = {}
        trailers: list[bytes] = []
        todo, seen = [start], set[int]()
        while todo:
            offset = todo.pop()
            if offset in seen or len(seen) >= _MAX_XREF_SECTIONS:
                raise _damaged()
            seen.add(offset)
            if not 0 < offset < len(self.data):
                raise _damaged()
            if self.data.startswith(b"xref", offset):
                trailer = self._xref_table(offset + 4, entries)
            else:
                trailer = self._xref_stream(offset, entries)
            trailers.append(trailer)
            previous, hybrid = _int(trailer, b"Prev"), _int(trailer, b"XRefStm")
            if previous is not None:
                todo.append(previous)
            if hybrid is not None:
                todo.append(hybrid)  # popped first: it belongs to this section
            if len(entries) > _MAX_XREF_ENTRIES:
                raise _damaged()
        return entries, trailers

    def _xref_table(self, pos: int, entries: dict[int, tuple[int, int]]) -> bytes:
        data = self.data
        while True:
            trailer = _TRAILER.match(data, pos)
            if trailer is not None:
                end = self.dict_end(trailer.end())
                return _pdf_names(data[trailer.end() : end])
            subsection = _XREF_SUBSECTION.match(data, pos)
            if subsection is None:
                raise _damaged()
            first, count = int(subsection[1]), int(subsection[2])
            if count > _MAX_XREF_ENTRIES:
                raise _damaged()
            pos = subsection.end()
            for number in range(first, first + count):
                row = _XREF_ROW.match(data, pos)
                if row is None:
                    raise _damaged()
                pos = row.end()
                entries.setdefault(number, (1, int(row[1])) if row[3] == b"n" else (0, 0))

    def _xref_stream(self, offset: int, entries: dict[int, tuple[int, int]]) -> bytes:
        head = _OBJ_AT.match(self.data, offset)
        if head is None:
            raise _damaged()
        start = head.end() + _leading_space(self.data, head.end())
        end = self.dict_end(start)
        dictionary = _pdf_names(self.data[start:end])
        if not re.search(rb"/Type\s*/XRef" + _END, dictionary):
            raise _damaged()
        payload, _after = self.stream_payload(end + _leading_space(self.data, end), dictionary)
        raw = self.inflate(payload, dictionary)
        widths = _ints(dictionary, b"W")
        size = _int(dictionary, b"Size")
        if widths is None or len(widths) != 3 or size is None or any(w > 8 for w in widths):
            raise _damaged()
        index = _ints(dictionary, b"Index") or [0, size]
        row = sum(widths)
        predictor = _int(dictionary, b"Predictor") or 1
        if predictor >= 10:
            raw = _png_unpredict(raw, _int(dictionary, b"Columns") or row)
        elif predictor != 1:
            raise _damaged()
        if row == 0 or len(index) % 2:
            raise _damaged()
        pos = 0
        for first, count in zip(index[::2], index[1::2], strict=True):
            for number in range(first, first + count):
                if pos + row > len(raw):
                    raise _damaged()
                fields, cursor = [], pos
                for width in widths:
                    fields.append(int.from_bytes(raw[cursor : cursor + width], "big"))
                    cursor += width
                pos += row
                kind = fields[0] if widths[0] else 1
                if kind == 1:
                    entries.setdefault(number, (1, fields[1]))
                elif kind == 2:
                    entries.setdefault(number, (2, fields[1]))
                else:
                    entries.setdefault(number, (0, 0))
        return dictionary

    # - the whole file -

    def skeleton(self) -> bytes:
        """The file with every stream's payload left out, plus the objects packed in object
        streams (inflated): all the dictionaries a reader could act on, names decoded."""
        data, parts, packed, pos = self.data, [], [], 0
        while True:
            head = _OBJ_START.search(data, pos)
            if head is None:
                parts.append(data[pos:])
                break
            parts.append(data[pos : head.end()])
            body = head.end()
            end_obj = data.find(b"endobj", body)
            stream = _STREAM_KW.search(data, body, end_obj if end_obj >= 0 else len(data))
            if stream is None:
                if end_obj < 0:
                    raise _damaged()
                parts.append(data[body : end_obj + 6])
                pos = end_obj + 6
                continue
            dictionary = _pdf_names(data[body : stream.start()])
            parts.append(dictionary)
            payload, pos = self.stream_payload(stream.start(), dictionary)
            if re.search(rb"/Type\s*/ObjStm" + _END, dictionary):
                packed.append(_pdf_names(self.inflate(payload, dictionary)))
        return b"\n".join([_pdf_names(b"".join(parts)), *packed])


def _leading_space(data: bytes, pos: int) -> int:
    m = re.compile(rb"\s*").match(data, pos)
    return m.end() - pos if m else 0


def _png_unpredict(raw: bytes, columns: int) -> bytes:
    """Undo the PNG predictors (/Predictor 10–15) of a stream of one-byte samples."""
    if columns < 1:
        raise _damaged()
    out, previous, i = bytearray(), bytearray(columns), 0
    while i < len(raw):
        kind, row = raw[i], bytearray(raw[i + 1 : i + 1 + columns])
        i += 1 + columns
        if len(row) != columns:
            raise _damaged()
        for j in range(columns):
            left = row[j - 1] if j else 0
            up, up_left = previous[j], (previous[j - 1] if j else 0)
            if kind == 1:
                row[j] = (row[j] + left) & 0xFF
            elif kind == 2:
                row[j] = (row[j] + up) & 0xFF
            elif kind == 3:
                row[j] = (row[j] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - up_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[j] = (row[j] + nearest) & 0xFF
            elif kind != 0:
                raise _damaged()
        out += row
        previous = row
    return bytes(out)


def pdf_problem(data: bytes) -> Any:
    """Why ``data`` is not a PDF to accept (a translatable message), or None."""
    if not _PDF_HEADER.match(data):
        return _("Tài liệu phải là tệp PDF.")
    try:
        return _pdf_problem(data)
    except _PdfRefused as refused:
        return refused.message
    except Exception:  # whatever the parser trips on in crafted bytes: refused, never a 500
        return _damaged().message


def _pdf_problem(data: bytes) -> Any:
    tail = _PDF_TAIL.search(data, max(0, len(data) - 2048))
    if tail is None:
        raise _damaged()
    reader = _PdfReader(data)
    entries, trailers = reader.read_xref(int(tail[1]))
    if any(re.search(rb"/Encrypt" + _END, trailer) for trailer in trailers):
        return _("Tệp PDF có mật khẩu hoặc bị mã hóa; hãy xuất lại tệp không đặt mật khẩu.")
    root = next((r for r in (_ref(t, b"Root") for t in trailers) if r is not None), None)
    if root is None or entries.get(root, (0, 0))[0] == 0:
        raise _damaged()
    for number, (kind, where) in entries.items():
        if kind == 1:
            head = _OBJ_AT.match(data, where) if 0 < where < len(data) else None
            if head is None or int(head[1]) != number:
                raise _damaged()
        elif kind == 2 and entries.get(where, (0, 0))[0] != 1:
            raise _damaged()
    text = reader.skeleton()
    if not _CATALOG.search(text):
        raise _damaged()
    if not _PAGE.search(text):
        return _("Tệp PDF không có trang nào.")
    opens = [m[1] for m in _OPEN_ACTION.finditer(text)]
    if _ACTIVE.search(text) or any(o != b"[" for o in opens):
        return _(
            "Tệp PDF có nội dung tự chạy hoặc tệp đính kèm (JavaScript, hành động khi mở, "
            "tệp nhúng…); hãy xuất lại thành PDF thường rồi tải lên."
        )
    return None


def check_pdf(upload: UploadedFile | File | None, *, field: str = "document") -> bytes | None:
    """The upload's bytes once parsed as a PDF with pages and nothing that acts on its own."""
    if upload is None:
        return None
    limit = max_bytes(PDF)
    data = read_upload(
        upload,
        field=field,
        limit=limit,
        too_big=_("Tài liệu PDF tối đa %(mb)s MB.") % {"mb": megabytes(limit)},
    )
    problem = pdf_problem(data)
    if problem is not None:
        raise ValidationFailed(fields={field: [problem]})
    return data
