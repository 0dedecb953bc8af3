"""Pages travel gzipped to phones that accept it; live event streams never are (gzip would hold
events back)."""

from __future__ import annotations

import gzip

import pytest

from tests.factories import member_of, merchant_with_account

pytestmark = pytest.mark.django_db


def test_a_page_is_gzipped_for_a_phone_that_accepts_it(client):
    plain = client.get("/dang-nhap/")
    packed = client.get("/dang-nhap/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed["Content-Encoding"] == "gzip"
    page = gzip.decompress(packed.content)
    # The same page (its CSRF token is masked anew on every response, as it should be).
    assert page.startswith(b"<!doctype html>") and len(page) == len(plain.content)
    assert len(packed.content) < len(plain.content) * 0.6


def test_the_live_payment_stream_is_not_compressed(client):
    merchant = merchant_with_account()
    client.force_login(member_of(merchant))
    response = client.get(f"/cua-hang/{merchant.pk}/su-kien/", headers={"Accept-Encoding": "gzip"})
    assert response["Content-Type"].startswith("text/event-stream")
    assert not response.has_header("Content-Encoding")
    response.close()
