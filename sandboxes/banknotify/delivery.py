"""Sending notifications to the webhook URL, with retries, in background threads.

The machinery (units, retries with jittered exponential backoff, redirects not followed) is
:class:`sandboxes._common.Deliverer`; this module fixes the bank's header and user agent. The
``duplicate`` knob makes two parcels of one transaction; the ``fail_first`` knob loses attempts
through the ``take_loss`` hook.
"""

from __future__ import annotations

import logging
from typing import Any

from .._common import Attempt, Parcel
from .._common import Deliverer as _Deliverer
from .signing import SIGNATURE_HEADER

logger = logging.getLogger("sandboxes.banknotify")

USER_AGENT = "banknotify-sandbox/1.0"

__all__ = ["USER_AGENT", "Attempt", "Deliverer", "Parcel"]


class Deliverer(_Deliverer):
    """A :class:`sandboxes._common.Deliverer` signing with ``X-Banknotify-Signature``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            signature_header=SIGNATURE_HEADER,
            user_agent=USER_AGENT,
            name="banknotify",
            logger=logger,
            **kwargs,
        )
