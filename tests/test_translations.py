"""The English catalogue (`locale/en/LC_MESSAGES/django.po`, msgids in Vietnamese): every entry
is translated and none is fuzzy, the committed .mo matches the .po, and pages and API errors come
out in English when the browser or the EN/VI button asks for it.

Regenerate with `manage.py makemessages -l en --ignore=.venv --ignore=tests --ignore=bench
--ignore=sandboxes --ignore=var --no-obsolete`, translate, then `manage.py compilemessages -l en`.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale" / "en" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"

SIGN_IN = "Đăng nhập"
NOT_AUTHENTICATED = "Bạn cần đăng nhập hoặc dùng khóa API hợp lệ."


# --- a small .po reader ------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    msgid: str
    msgstr: tuple[str, ...]  # one string, or one per plural form
    msgid_plural: str | None = None
    msgctxt: str | None = None
    flags: frozenset[str] = frozenset()
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def is_fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def is_translated(self) -> bool:
        return all(self.msgstr)

    @property
    def key(self) -> str:
        # How gettext stores a message with a context: "context\x04msgid".
        return self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(quoted: str, line: int) -> str:
    if len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
        raise ValueError(f"line {line}: expected a quoted string, got {quoted!r}")

    def escape(m: re.Match[str]) -> str:
        if m.group(1) not in _ESCAPES:
            raise ValueError(f"line {line}: unknown escape \\{m.group(1)}")
        return _ESCAPES[m.group(1)]

    return re.sub(r"\\(.)", escape, quoted[1:-1])


def parse_po(text: str) -> list[Entry]:
    """Entries of a .po file: flags from `#,` lines, multi-line strings joined, plural forms in
    order. Obsolete entries (`#~`) and other comments are skipped, as msgfmt skips them."""
    entries: list[Entry] = []
    fields: dict[str, str] = {}
    plural_forms: dict[int, str] = {}
    flags: set[str] = set()
    current: tuple[str, int | None] | None = None
    start = 0

    def finish() -> None:
        nonlocal current, start
        if "msgid" in fields:
            if plural_forms:
                if sorted(plural_forms) != list(range(len(plural_forms))):
                    raise ValueError(f"line {start}: plural forms {sorted(plural_forms)}")
                msgstr = tuple(plural_forms[i] for i in range(len(plural_forms)))
            else:
                msgstr = (fields.get("msgstr", ""),)
            entries.append(
                Entry(
                    msgid=fields["msgid"],
                    msgstr=msgstr,
                    msgid_plural=fields.get("msgid_plural"),
                    msgctxt=fields.get("msgctxt"),
                    flags=frozenset(flags),
                    line=start,
                )
            )
        elif fields or plural_forms:
            raise ValueError(f"line {start}: entry without msgid")
        fields.clear()
        plural_forms.clear()
        flags.clear()
        current = None
        start = 0

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if fields:  # a comment after the strings begins the next entry
                finish()
            if line.startswith("#,"):
                flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"line {number}: string outside an entry")
            name, index = current
            if index is None:
                fields[name] += _unquote(line, number)
            else:
                plural_forms[index] += _unquote(line, number)
            continue
        match = _KEYWORD.match(line)
        if not match:
            raise ValueError(f"line {number}: cannot read {raw!r}")
        keyword, index_text, quoted = match.groups()
        if keyword in ("msgctxt", "msgid") and ("msgstr" in fields or plural_forms):
            finish()  # entries not separated by a blank line
        start = start or number
        value = _unquote(quoted, number)
        if index_text is not None:
            current = ("msgstr", int(index_text))
            plural_forms[int(index_text)] = value
        else:
            current = (keyword, None)
            fields[keyword] = value
    finish()
    return entries


def header_fields(header: str) -> dict[str, str]:
    """The `Key: value` lines of a header, keys in lower case as gettext's info() has them."""
    pairs = (line.split(":", 1) for line in header.splitlines() if ":" in line)
    return {key.strip().lower(): value.strip() for key, value in pairs}


@cache
def po_entries() -> tuple[Entry, ...]:
    return tuple(parse_po(PO_FILE.read_text(encoding="utf-8")))


def po_header() -> Entry:
    headers = [e for e in po_entries() if e.is_header]
    assert len(headers) == 1, "the .po needs exactly one header entry"
    return headers[0]


def po_messages() -> list[Entry]:
    return [e for e in po_entries() if not e.is_header]


def english(msgid: str) -> str:
    """The catalogue's English for a Vietnamese msgid (singular, no context)."""
    for entry in po_messages():
        if entry.key == msgid and entry.msgid_plural is None:
            return entry.msgstr[0]
    raise AssertionError(f"{msgid!r} is not in {PO_FILE}")


def where(entry: Entry) -> str:
    return f"{PO_FILE.name}:{entry.line} {entry.msgid!r}"


# --- the reader itself -------------------------------------------------------------------------


def test_it_reads_multiline_plural_fuzzy_and_obsolete_entries():
    sample = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Language: en\\n"',
            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
            "",
            "#: a.py:1",
            "#, fuzzy, python-format",
            'msgid ""',
            '"Sạp %(code)s "',
            '"đã có \\"người\\" bán."',
            'msgstr "Stall %(code)s is \\"taken\\".\\n"',
            "",
            "#, python-format",
            'msgid "%(n)s đơn"',
            'msgid_plural "%(n)s đơn"',
            'msgstr[0] "%(n)s application"',
            'msgstr[1] ""',
            '"%(n)s applications"',
            "",
            'msgctxt "menu"',
            'msgid "Chợ"',
            'msgstr ""',
            "",
            '#~ msgid "Cũ"',
            '#~ msgstr "Old"',
        ]
    )

    header, fuzzy, plural, with_context = parse_po(sample)

    assert header.is_header
    assert header_fields(header.msgstr[0]) == {
        "language": "en",
        "plural-forms": "nplurals=2; plural=(n != 1);",
    }
    assert fuzzy.msgid == 'Sạp %(code)s đã có "người" bán.'
    assert fuzzy.msgstr == ('Stall %(code)s is "taken".\n',)
    assert fuzzy.is_fuzzy and fuzzy.flags == {"fuzzy", "python-format"}
    assert plural.msgid_plural == "%(n)s đơn"
    assert plural.msgstr == ("%(n)s application", "%(n)s applications")
    assert not plural.is_fuzzy and plural.is_translated
    assert with_context.key == "menu\x04Chợ"
    assert not with_context.is_translated


# --- the catalogue -----------------------------------------------------------------------------


def test_it_has_an_english_header_with_two_plural_forms():
    header = po_header()
    fields = header_fields(header.msgstr[0])

    assert not header.is_fuzzy
    assert fields["language"] == "en"
    assert fields["content-type"] == "text/plain; charset=UTF-8"
    assert fields["plural-forms"] == "nplurals=2; plural=(n != 1);"


def test_it_translates_every_entry_and_leaves_none_fuzzy():
    messages = po_messages()
    untranslated = [where(e) for e in messages if not e.is_translated]
    fuzzy = [where(e) for e in messages if e.is_fuzzy]
    wrong_plurals = [where(e) for e in messages if e.msgid_plural and len(e.msgstr) != 2]

    assert len(messages) > 300, "the catalogue looks truncated"
    assert untranslated == []
    assert fuzzy == []
    assert wrong_plurals == []


def test_it_keeps_placeholders_and_markup_of_every_msgid():
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w+\}")
    markup = re.compile(r"</?(?:a|b|i|em|strong|code|br|span)\b[^>]*>")
    mismatched = []
    for entry in po_messages():
        for msgstr in entry.msgstr:
            for pattern in (placeholder, markup):
                if sorted(pattern.findall(entry.msgid)) != sorted(pattern.findall(msgstr)):
                    mismatched.append(f"{where(entry)} -> {msgstr!r}")

    assert mismatched == []


def test_it_translates_the_language_names_plainly():
    assert english("Tiếng Việt") == "Vietnamese"
    assert english("English") == "English"


def test_it_ships_a_compiled_catalogue_with_exactly_the_translated_entries():
    with MO_FILE.open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    expected: dict[object, str] = {}
    for entry in po_messages():
        if entry.is_fuzzy or not entry.is_translated:
            continue  # msgfmt leaves these out
        if entry.msgid_plural is None:
            expected[entry.key] = entry.msgstr[0]
        else:
            expected.update({(entry.key, i): s for i, s in enumerate(entry.msgstr)})
    # GNUTranslations keeps messages in _catalog: "msgid" or ("msgid", plural index) -> msgstr;
    # "" is the header, compared through info() below.
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]

    stale = "django.mo is out of date: run manage.py compilemessages -l en"
    assert sorted(map(str, set(expected) - set(actual))) == [], stale
    assert sorted(map(str, set(actual) - set(expected))) == [], stale
    assert {k: v for k, v in actual.items() if expected[k] != v} == {}, stale
    # msgfmt drops POT-Creation-Date (reproducible builds); everything else is copied.
    po_info = header_fields(po_header().msgstr[0])
    mo_info = compiled.info()
    for info in (po_info, mo_info):
        info.pop("pot-creation-date", None)
    assert mo_info == po_info, stale


# --- Django serving it -------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_sign_in_page_in_english_when_the_browser_asks(client):
    response = client.get("/dang-nhap/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert english(SIGN_IN) in html
    assert SIGN_IN not in html


@pytest.mark.django_db
def test_it_shows_the_sign_in_page_in_vietnamese_by_default(client):
    response = client.get("/dang-nhap/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert SIGN_IN in html
    assert english(SIGN_IN) not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "in_english"),
    [
        ({"HTTP_ACCEPT_LANGUAGE": "en"}, True),
        ({"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9,vi;q=0.8"}, True),
        ({}, False),
        ({"HTTP_ACCEPT_LANGUAGE": "vi-VN,vi;q=0.9"}, False),
    ],
    ids=["en", "en-US", "no-header", "vi"],
)
def test_it_answers_api_errors_in_the_language_asked_for(client, headers, in_english):
    response = client.get("/api/v1/merchants/", **headers)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "not_authenticated"
    assert error["message"] == (english(NOT_AUTHENTICATED) if in_english else NOT_AUTHENTICATED)
    assert response["Content-Language"] == ("en" if in_english else "vi")


@pytest.mark.django_db
def test_it_switches_the_next_pages_to_english_and_back_with_the_language_button(client):
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/dang-nhap/"})

    assert switched.status_code == 302
    assert switched["Location"] == "/dang-nhap/"
    english_page = client.get("/dang-nhap/").content.decode()
    assert english(SIGN_IN) in english_page
    assert SIGN_IN not in english_page
    # The header button now offers the way back.
    assert 'name="language" value="vi"' in english_page

    client.post("/i18n/setlang/", {"language": "vi", "next": "/dang-nhap/"})

    vietnamese_page = client.get("/dang-nhap/").content.decode()
    assert SIGN_IN in vietnamese_page
    assert 'name="language" value="en"' in vietnamese_page
