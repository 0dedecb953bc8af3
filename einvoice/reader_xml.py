"""Parsing GDT e-invoice XML safely and reading values out of it, one element at a time.

``parse_document`` refuses what is not XML (no entities, no DTD, no network, at most
``MAX_BYTES``); ``text_of``, ``decimal_of`` and ``date_of`` read one element's value (text
NFC-normalised); :class:`Block` gives the children of an element by local name and records a
:class:`~einvoice.reader_types.Finding` when one that may appear once appears twice.
"""

from __future__ import annotations

import threading
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from .reader_types import Finding, Unreadable

READ_SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "hdon_read.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
MAX_BYTES = 2 * 1024 * 1024


def _parser() -> etree.XMLParser:
    # Outside input: no entities, no DTD, no network, no huge trees.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


_local = threading.local()


def read_schema() -> etree.XMLSchema:
    """The reading XSD, one per thread (an XMLSchema keeps its error log per object)."""
    xsd = getattr(_local, "schema", None)
    if xsd is None:
        xsd = _local.schema = etree.XMLSchema(etree.parse(str(READ_SCHEMA_PATH)))
    return xsd


def localname(element: Any) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_document(data: bytes | str) -> etree._Element:
    """The root element, namespaces dropped outside signatures; :class:`Unreadable` otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise Unreadable(
            f"Tệp quá lớn (trên {MAX_BYTES // (1024 * 1024)} MB).",
            f"The file is too large (over {MAX_BYTES // (1024 * 1024)} MB).",
        )
    if not data.strip():
        raise Unreadable("Tệp rỗng.", "The file is empty.")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        detail = getattr(error, "msg", None) or str(error)  # lxml's message without "(<string>)"
        raise Unreadable(
            f"Không phải tệp XML hợp lệ: {detail}", f"Not a well-formed XML file: {detail}"
        ) from None
    if root is None or localname(root) not in ("HDon", "TDiep"):
        name = localname(root) if root is not None else ""
        raise Unreadable(
            f"Không phải hóa đơn điện tử (HDon) hay thông điệp (TDiep) của Tổng cục Thuế: "
            f"phần tử gốc là <{name}>.",
            f"Not a GDT e-invoice (HDon) or message (TDiep): the root element is <{name}>.",
        )
    if root.getroottree().docinfo.doctype:
        raise Unreadable(
            "Tệp có khai báo DOCTYPE; hóa đơn điện tử không dùng DOCTYPE.",
            "The file declares a DOCTYPE; e-invoices do not use one.",
        )
    _drop_namespaces(root)
    return root


def _drop_namespaces(root: etree._Element) -> None:
    """A provider that puts the invoice in a default namespace: read it by local names. The
    XMLDSig signatures keep theirs."""
    if not any(
        isinstance(el.tag, str) and el.tag.startswith("{") and not el.tag.startswith(f"{{{DS_NS}}}")
        for el in root.iter()
    ):
        return
    for el in root.iter():
        if (
            isinstance(el.tag, str)
            and el.tag.startswith("{")
            and not el.tag.startswith(f"{{{DS_NS}}}")
        ):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(root)


def text_of(element: Any) -> str:
    if element is None or element.text is None:
        return ""
    return unicodedata.normalize("NFC", element.text.strip())


def decimal_of(element: Any) -> Decimal | None:
    text = text_of(element)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None  # the schema already reported it
    return value if value.is_finite() else None


def date_of(element: Any) -> date | None:
    try:
        return date.fromisoformat(text_of(element)[:10])
    except ValueError:
        return None


def path_of(element: Any) -> str:
    """HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[3]: a short path, with positions among namesakes."""
    parts: list[str] = []
    while element is not None:
        name = localname(element)
        parent = element.getparent()
        if parent is not None:
            same = [c for c in parent if localname(c) == name]
            if len(same) > 1:
                name = f"{name}[{same.index(element) + 1}]"
        parts.append(name)
        element = parent
    return "/".join(reversed(parts))


class Block:
    """The children of one element by local name; the rules ask it for one value at a time."""

    def __init__(self, element: Any, findings: list[Finding]) -> None:
        self.element = element
        self.findings = findings
        self.children: dict[str, list[Any]] = {}
        if element is not None:
            for child in element:
                self.children.setdefault(localname(child), []).append(child)

    @property
    def where(self) -> str:
        return path_of(self.element) if self.element is not None else ""

    def one(self, name: str) -> Any:
        found = self.children.get(name, [])
        if len(found) > 1:
            self.findings.append(
                Finding(
                    "element_repeated",
                    f"Phần tử {name} xuất hiện {len(found)} lần, chỉ được có một.",
                    f"Element {name} appears {len(found)} times; only one is allowed.",
                    path_of(found[1]),
                    found[1].sourceline,
                )
            )
        return found[0] if found else None

    def all(self, name: str) -> list[Any]:
        return self.children.get(name, [])

    def text(self, name: str) -> str:
        return text_of(self.one(name))

    def decimal(self, name: str) -> Decimal | None:
        return decimal_of(self.one(name))

    def has(self, name: str) -> bool:
        return name in self.children

    def extra(self) -> dict[str, str]:
        """TTKhac/TTin: {TTruong: DLieu}."""
        fields: dict[str, str] = {}
        for block in self.all("TTKhac"):
            for info in block:
                if localname(info) != "TTin":
                    continue
                entry = Block(info, [])
                name = entry.text("TTruong")
                if name:
                    fields[name] = entry.text("DLieu")
        return fields
