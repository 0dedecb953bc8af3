"""Issue 16: the traders' installable app: manifest, service worker, offline page, sign-out."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders

from tests.factories import member_of, merchant_with_account

pytestmark = pytest.mark.django_db


def test_it_serves_an_installable_manifest(client):
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["name"] == "Chợ Số" and manifest["short_name"] == "Chợ Số"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0b6e4f"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon


def test_it_serves_the_worker_from_the_root_never_cached(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    config = json.loads(re.match(r"self\.CHOSO = (.*);\n", body).group(1))
    assert "/static/js/pos.js" in config["shell"] and "/static/css/app.css" in config["shell"]
    assert config["offline"] == {"vi": "/ngoai-tuyen/vi/", "en": "/ngoai-tuyen/en/"}
    for url in config["shell"]:
        assert finders.find(url.removeprefix("/static/")), url
    assert 'addEventListener("fetch"' in body


def test_a_changed_shell_file_changes_the_workers_version(client, settings, tmp_path):
    settings.DEBUG = True  # production computes it once per process (a deploy restarts it)
    first = client.get("/sw.js").content.decode().splitlines()[0]
    (tmp_path / "js").mkdir()
    source = settings.BASE_DIR / "static" / "js" / "pos.js"
    (tmp_path / "js" / "pos.js").write_text(source.read_text() + "\n// deployed\n")
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]

    second = client.get("/sw.js").content.decode().splitlines()[0]

    assert first != second


@pytest.mark.parametrize(
    ("lang", "title"), [("vi", "Mất mạng — đang chờ mạng"), ("en", "No network — waiting")]
)
def test_the_offline_page_waits_for_the_network_in_each_language(client, lang, title):
    response = client.get(f"/ngoai-tuyen/{lang}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert title in body
    assert f'<html lang="{lang}">' in body
    assert "js/offline.js" in body
    assert "csrfmiddlewaretoken" not in body  # the same for everybody: safe to keep


def test_an_unknown_language_is_404_and_a_post_is_405(client):
    assert client.get("/ngoai-tuyen/fr/").status_code == 404
    assert client.post("/sw.js").status_code == 405
    assert client.post("/manifest.webmanifest").status_code == 405


def test_trader_pages_link_the_manifest_and_the_worker(client):
    merchant = merchant_with_account()
    client.force_login(member_of(merchant, role="owner"))

    body = client.get(f"/cua-hang/{merchant.pk}/ban-hang/").content.decode()

    assert '<link rel="manifest" href="/manifest.webmanifest">' in body
    assert 'data-sw="/sw.js"' in body
    assert 'id="offline-queue"' in body


def test_signing_out_clears_what_the_phone_kept(client):
    merchant = merchant_with_account()
    client.force_login(member_of(merchant, role="owner"))

    response = client.post("/dang-xuat/")

    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache"'
    assert "_auth_user_id" not in client.session


def test_the_worker_keeps_every_file_the_pos_page_loads(client):
    """Offline, the POS opens from the worker's copy: each stylesheet and script of the page must
    be in the shell the worker stores in advance, or the offline POS comes up without it."""
    merchant = merchant_with_account()
    client.force_login(member_of(merchant))
    page = client.get(f"/cua-hang/{merchant.pk}/ban-hang/").content.decode()
    shell = json.loads(
        re.search(r"self\.CHOSO = (\{.*?\});", client.get("/sw.js").content.decode())[1]
    )["shell"]

    linked = re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"', page)

    assert linked and {"/static/css/pos.css", "/static/js/pos.js"} <= set(linked)
    assert set(linked) <= set(shell), set(linked) - set(shell)
