"""What merchants needs to know from the apps built on it, without importing them.

merchants sits below market (docs/architecture.md, "Layers and import rules"), so it may not
import market. Three of its pages still show something only market knows: the first-day
checklist (a stall or a stall application, a first sale paid by bank or e-wallet), a new
product's suggested VAT category (the stall's kind of goods) and the markets staff choose from
when registering a trader on their behalf. market answers them at start-up
(``market.apps.MarketConfig.ready`` calls ``register``); merchants alone answers "nothing yet".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import BooleanField, Value
from django.db.models.expressions import BaseExpression

from .models import Merchant

# The first-day facts market adds to a Merchant query, each an expression over OuterRef("pk").
FIRST_DAY_FACTS = ("has_stall", "has_application", "has_pending", "has_sale")


def _no_first_day_facts() -> Mapping[str, BaseExpression]:
    return {name: Value(False, output_field=BooleanField()) for name in FIRST_DAY_FACTS}


@dataclass(frozen=True)
class _Answers:
    first_day_facts: Callable[[], Mapping[str, BaseExpression]] = _no_first_day_facts
    goods_category: Callable[[Merchant], str | None] = lambda merchant: None
    markets: Callable[[], Sequence[Any]] = tuple  # objects with .pk and .name, by name


_answers = _Answers()


def register(
    *,
    first_day_facts: Callable[[], Mapping[str, BaseExpression]],
    goods_category: Callable[[Merchant], str | None],
    markets: Callable[[], Sequence[Any]],
) -> None:
    """Called once by the app that knows (market), when Django starts."""
    global _answers
    _answers = replace(
        _answers, first_day_facts=first_day_facts, goods_category=goods_category, markets=markets
    )


def first_day_facts() -> Mapping[str, BaseExpression]:
    """Annotations for a Merchant query: has_stall, has_application (not refused), has_pending,
    has_sale (paid by bank or e-wallet)."""
    return _answers.first_day_facts()


def goods_category(merchant: Merchant) -> str | None:
    """What the merchant sells (its stall's kind of goods), or None when unknown."""
    return _answers.goods_category(merchant)


def markets() -> list[Any]:
    """The markets, by name (each with .pk and .name)."""
    return list(_answers.markets())
