"""Content-Security-Policy: every page carries it, scripts come from our own static files only,
and no template holds an inline script or an inline event handler (which it would block)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"

# <script …>content</script> without src=…: a block the policy would refuse to run.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(?P<body>.*?)</script>", re.I | re.S)
# onclick="…", onload='…', onchange=… inside a tag.
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/dang-nhap/", "/mua/", "/hoi-cho/", "/hoa-don/tra-cuu/"])
def test_it_sends_the_policy_on_every_page(client, url) -> None:
    response = client.get(url)

    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]


@pytest.mark.django_db
def test_it_sends_the_policy_on_error_pages_too(client) -> None:
    response = client.get("/khong-co-trang-nay/")

    assert response.status_code == 404
    assert _policy(response)["script-src"] == ["'self'"]


@pytest.mark.django_db
def test_it_lets_the_360_viewer_and_booth_videos_work(client) -> None:
    policy = _policy(client.get("/dang-nhap/"))

    # Pannellum styles its own elements, draws its icons from data: URLs, reads through blob:.
    assert "'unsafe-inline'" in policy["style-src"]
    assert {"'self'", "data:", "blob:"} <= set(policy["img-src"])
    assert set(policy["frame-src"]) == {
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
    }


@pytest.mark.django_db
def test_it_sends_no_policy_on_json(client) -> None:
    assert "Content-Security-Policy" not in client.get("/api/v1/health")


def _templates() -> list[Path]:
    found = sorted(TEMPLATES.rglob("*.html"))
    assert len(found) > 50
    return found


def test_no_template_has_an_inline_script() -> None:
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in _templates()
        for match in INLINE_SCRIPT.finditer(path.read_text())
        if match.group("body").strip()
    ]

    assert offenders == []


def test_no_template_has_an_inline_event_handler_or_a_javascript_url() -> None:
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in _templates()
        if EVENT_HANDLER.search(path.read_text()) or "javascript:" in path.read_text().lower()
    ]

    assert offenders == []


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert INLINE_SCRIPT.search("<script>\nalert(1)\n</script>").group("body").strip()
    assert not INLINE_SCRIPT.search("<script src=\"{% static 'js/x.js' %}\" defer></script>")
    assert EVENT_HANDLER.search('<button class="link" onclick="return confirm(\'?\')">')
    assert EVENT_HANDLER.search('<img\n  src="x" onerror=alert(1)>')
    assert not EVENT_HANDLER.search('<button data-confirm="Xóa?">')
