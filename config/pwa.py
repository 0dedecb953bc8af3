"""The traders' installable app (issue 16): the web app manifest, the service worker and the page
it shows when the network is gone.

* ``/manifest.webmanifest``: name, icons and colours, so a trader can put Chợ Số on the home
  screen and open it full screen on their own shops (start_url ``/``, trader home).
* ``/sw.js``: ``static/js/sw.js`` behind one line of configuration (the precached shell's URLs
  and a version). It is served from the root so that its scope is the whole site, never cached
  by the browser (``no-cache``: a deploy is seen at the next page load), and its version is a
  digest of the shell's bytes, so a deploy that changes a file replaces the worker and its cache.
* ``/ngoai-tuyen/<lang>/``: "Mất mạng — đang chờ mạng", the page the worker answers a trader's
  navigation with when the network is gone (and it holds no copy of that page). It is the same for
  everybody (no user, no token), so it can be cached; it waits and reloads by itself.

None of these reads or writes user data; all are GET only.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

THEME_COLOUR = "#0b6e4f"  # --green in static/css/app.css
BACKGROUND_COLOUR = "#f5f6f2"  # --bg

# What a trader's phone keeps to open the POS without a network: its styles and scripts, the
# icons, and (added by the worker) the offline page in each language.
SHELL = (
    "css/app.css",
    "css/pos.css",
    "js/net.js",
    "js/pwa.js",
    "js/offline-queue.js",
    "js/pos.js",
    "js/live.js",
    "js/confirm.js",
    "js/offline.js",
    "icons/icon.svg",
    "icons/icon-192.png",
    "icons/favicon.ico",
)


@require_safe
def manifest(request: HttpRequest) -> JsonResponse:
    icons = [
        {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {"src": static("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        # Full-bleed green, the glyph inside the safe circle: Android crops it to its own shape.
        {
            "src": static("icons/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    body = {
        "id": "/",
        "name": "Chợ Số",
        "short_name": "Chợ Số",
        "description": _("Bán hàng, thu tiền QR và tiền mặt, hóa đơn điện tử cho tiểu thương."),
        "lang": translation.get_language() or settings.LANGUAGE_CODE,
        "start_url": reverse("home"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json; charset=utf-8"
    response["Cache-Control"] = "no-cache"
    return response


def _static_bytes(path: str) -> bytes:
    """A static file's bytes: collected (production) or from the source folders (development)."""
    if staticfiles_storage.exists(path):
        with staticfiles_storage.open(path) as f:
            return f.read()
    found = finders.find(path)
    if not found:
        raise Http404(path)
    with open(found, "rb") as f:
        return f.read()


def _worker_source() -> str:
    digest = hashlib.sha256()
    for path in SHELL:
        digest.update(static(path).encode())
        digest.update(_static_bytes(path))
    code = _static_bytes("js/sw.js")
    digest.update(code)
    config = {
        "version": digest.hexdigest()[:16],
        "shell": [static(path) for path in SHELL],
        "offline": {code: reverse("offline", args=[code]) for code, _name in settings.LANGUAGES},
        "defaultLang": settings.LANGUAGE_CODE,
    }
    return f"self.CHOSO = {json.dumps(config)};\n" + code.decode()


_cached_worker_source = lru_cache(maxsize=1)(_worker_source)


@require_safe
def service_worker(request: HttpRequest) -> HttpResponse:
    # Production's files change only with a deploy (a new process): computed once. In
    # development every edit shows at the next load.
    source = _worker_source() if settings.DEBUG else _cached_worker_source()
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def offline(request: HttpRequest, lang: str) -> HttpResponse:
    if lang not in dict(settings.LANGUAGES):
        raise Http404(lang)
    with translation.override(lang):
        return render(request, "offline.html", {"lang": lang})


class LogoutView(auth_views.LogoutView):
    """Sign out, and have the browser drop its HTTP cache of this site. What the phone kept for
    the trader — the worker's copy of the POS, the carts and the offline sales — is cleared by
    the page first (static/js/pwa.js, which asks when some sales are not sent yet), so the next
    trader on a shared phone sees nothing of the previous one's. Not ``"storage"``: it would
    also remove the service worker, and the next lost network would show the browser's page."""

    def post(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache"'
        return response
