"""Finding goods across every open storefront, ignoring diacritics and case.

Both sides of a search are reduced to the same key (core.text.search_key: NFC, transliterated,
lower case: "Cá thu" and "ca thu", in NFC or NFD, become "ca thu"). Products store that key
(``Product.search_name``). Every word of the query must start a word of the name. Ranking: the
whole query at the start of the name, then anywhere in it, then by name. On PostgreSQL a trigram
index serves the matches of words of 3 letters or more; shorter words ("ca", "bo") are checked
on the rows those give, never through the index (their trigrams are in a quarter of the
catalogue: a bitmap of ~28k rows for nothing). A query that finds nothing is retried by trigram
word similarity through the same index, so a typo ("banh trnag") still finds "bánh tráng". On
SQLite the same words are matched with LIKE. Results are counted up to ``COUNT_CAP`` (pages past
it are not offered: "hơn 200 kết quả", refine the search). With no query, the newest goods (no
count: it is costly).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Avg, Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Concat

from core.text import search_key
from merchants.models import Merchant, Product

PER_PAGE = 20
MAX_QUERY = 80
# Results are counted up to here (COUNT over LIMIT COUNT_CAP + 1): 10 pages of 20.
COUNT_CAP = 200
# Words shorter than this are not looked up through the trigram index.
SHORT_WORD = 3


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap`` + 1 rows: ``count`` stops at ``cap`` and ``more``
    says whether there were more. Pages past the cap are not offered."""

    def __init__(self, object_list: Any, per_page: int, *, cap: int | None = None) -> None:
        super().__init__(object_list, per_page)
        self.cap = COUNT_CAP if cap is None else cap

    @cached_property
    def found(self) -> int:
        """Matching rows, counted up to cap + 1."""
        rows: Any = self.object_list  # a QuerySet
        return rows.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return min(self.found, self.cap)

    @property
    def more(self) -> bool:
        return self.found > self.cap


def open_products() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True, merchant__storefront__is_open=True)


@dataclass(frozen=True)
class SearchResult:
    query: str
    key: str
    page: Page
    fuzzy: bool  # found by similarity (PostgreSQL), not by every word

    @property
    def more(self) -> bool:
        """More results than counted (``count`` stopped at ``COUNT_CAP``)."""
        return bool(getattr(self.page.paginator, "more", False))


def product_search(
    query: str,
    *,
    market: str = "",
    category: str = "",
    page: int | str = 1,
    per_page: int = PER_PAGE,
) -> SearchResult:
    key = search_key(query)[:MAX_QUERY]
    products = open_products().select_related("merchant", "merchant__storefront")
    if market:
        products = products.filter(merchant__stalls__market__slug=market)
    if category:
        products = products.filter(merchant__stalls__goods_category=category)
    if market or category:
        products = products.distinct()
    if not key:
        # The landing page: the newest goods, no count over every catalogue (that is slow).
        newest = list(products.order_by("-pk")[:per_page])
        return SearchResult(
            query=query, key=key, page=Paginator(newest, per_page).page(1), fuzzy=False
        )
    words = key.split()
    # Every word must start a word of the name: "ca" finds "cá thu", "cải" and "nhà cao"; "ao"
    # does not find "cao".
    # Long words in the form the trigram index serves; short ones on " " || search_name, an
    # expression no index covers, so PostgreSQL checks them on the rows the long words found.
    long_words = [w for w in words if len(w) >= SHORT_WORD]
    short_words = [w for w in words if len(w) < SHORT_WORD]
    matched = products.filter(
        *[Q(search_name__startswith=w) | Q(search_name__contains=f" {w}") for w in long_words]
    )
    if short_words:
        matched = matched.alias(spaced_name=Concat(Value(" "), F("search_name"))).filter(
            *[Q(spaced_name__contains=f" {w}") for w in short_words]
        )
    ranked = matched.annotate(
        rank=Case(
            When(search_name__startswith=key, then=Value(2)),
            When(search_name__contains=key, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    ).order_by("-rank", "search_name", "pk")
    paginator = CappedPaginator(ranked, per_page)
    fuzzy = False
    if connection.vendor == "postgresql" and not paginator.found:
        from django.contrib.postgres.search import TrigramWordSimilarity

        # A typo ("banh trnag"): trigram word similarity through the index operator (%>,
        # pg_trgm.word_similarity_threshold, 0.6 by default), best first.
        similar = (
            products.filter(search_name__trigram_word_similar=key)
            .annotate(similarity=TrigramWordSimilarity(key, "search_name"))
            .order_by("-similarity", "search_name", "pk")
        )
        paginator = CappedPaginator(similar, per_page)
        fuzzy = True
    return SearchResult(query=query, key=key, page=paginator.get_page(page), fuzzy=fuzzy)


def merchant_ratings(merchant_ids: list[int]) -> dict[int, tuple[float, int]]:
    """(average stars, number of reviews) of each merchant, visible reviews only."""
    from ..models import Review

    rows = (
        Review.objects.filter(merchant_id__in=merchant_ids)
        .exclude(status=Review.Status.HIDDEN)
        .values("merchant_id")
        .annotate(avg=Avg("rating"), n=Count("pk"))
    )
    return {r["merchant_id"]: (round(float(r["avg"]), 1), r["n"]) for r in rows}


def open_merchants(*, market: str = "") -> QuerySet[Merchant]:
    merchants = Merchant.objects.filter(storefront__is_open=True)
    if market:
        merchants = merchants.filter(stalls__market__slug=market).distinct()
    return merchants.order_by("display_name")
