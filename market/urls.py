"""The market app's pages, one list per sub-package (in this order, as before the split):
the trader's home, stalls/, sales/, figures/, shop/."""

from django.urls import path

from . import home_views
from .figures import urls as figures_urls
from .sales import urls as sales_urls
from .shop import urls as shop_urls
from .stalls import urls as stalls_urls

urlpatterns = [
    # The trader's home reads merchants and market (market/home_views.py).
    path("", home_views.home, name="home"),
    path("trang-chinh/", home_views.trader_home, name="trader_home"),
    *stalls_urls.urlpatterns,
    *sales_urls.urlpatterns,
    *figures_urls.urlpatterns,
    *shop_urls.urlpatterns,
]
