from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import health, icons, pwa
from .api import api

admin.site.site_header = "Chợ Số — quản trị"
admin.site.site_title = "Chợ Số"

urlpatterns = [
    # issue 13: liveness and readiness probes (config/health.py)
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", icons.favicon, name="favicon"),
    # issue 16: the traders' installable app (config/pwa.py); the worker's scope is the site
    path("manifest.webmanifest", pwa.manifest, name="web_manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("ngoai-tuyen/<str:lang>/", pwa.offline, name="offline"),
    # before merchants.urls: sign-out also clears what the phone kept (the name stays theirs)
    path("dang-xuat/", pwa.LogoutView.as_view()),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("merchants.urls")),
    path("", include("market.urls")),
    path("", include("payments.urls")),
    path("", include("einvoice.urls")),
    path("", include("virtual_expo.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
