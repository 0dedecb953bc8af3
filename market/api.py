"""/api/v1/market/: markets, stalls and stall applications (``stalls/api.py``) and, beside
them, sales (``sales/api.py``: ``/orders``, ``/receipts/{token}``)."""

from ninja import Router

from .sales.api import router as sales_router
from .stalls.api import router as stalls_router

router = Router(tags=["market"])
router.add_router("", stalls_router)
router.add_router("", sales_router)
