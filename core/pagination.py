"""The API's @paginate: limit and offset both bounded (``NINJA_PAGINATION_CLASS`` points here).

django-ninja's LimitOffsetPagination takes any offset: 2^63 reached the database as an OFFSET it
cannot hold (a 500). Here a limit above 100 or an offset above 100.000 is a 422 naming it.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import LimitOffsetPagination

from .schemas import MAX_OFFSET, MAX_PAGE_SIZE


class PageParams(Schema):
    limit: int = Field(
        min(ninja_settings.PAGINATION_PER_PAGE, MAX_PAGE_SIZE), ge=1, le=MAX_PAGE_SIZE
    )
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    Input = PageParams  # type: ignore[assignment]

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_limit", MAX_PAGE_SIZE)
        super().__init__(**kwargs)
