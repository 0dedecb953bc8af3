"""How a rate limit is written: "count/period", the period s, m, h or d with an optional
multiplier (``600/m``, ``30/15m``). Read by config.env (settings from the environment) and
core.ratelimits (a rate set on settings afterwards). No Django here: settings import it."""

from __future__ import annotations

import re

RATE_PATTERN = re.compile(r"^[1-9]\d*/\d*[smhd]$")
