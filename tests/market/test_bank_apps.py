"""The bank-app deeplinks of the shopper's payment page (docs/bank-app-deeplinks.md)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from core.templatetags.money import digit_groups
from market.shop.bank_apps import BANK_APPS, deeplinks


def test_links_follow_the_documented_vietqr_pattern():
    links = deeplinks(
        bank_bin="970436", account_number="0041000123456", amount=90_000, content="CS AB12"
    )
    assert [link.app for link in links] == list(BANK_APPS)
    url = links[0].url
    assert url.startswith("https://dl.vietqr.io/pay?app=mb&")
    assert "ba=0041000123456@vcb" in url  # "@" left as is
    query = parse_qs(urlsplit(url).query)
    assert query["am"] == ["90000"] and query["tn"] == ["CS AB12"]


def test_no_links_without_a_known_bank_or_a_real_amount():
    assert deeplinks(bank_bin="999999", account_number="1", amount=1, content="x") == []
    assert deeplinks(bank_bin="970436", account_number="12a", amount=1, content="x") == []
    assert deeplinks(bank_bin="970436", account_number="1", amount=0, content="x") == []


def test_account_number_in_groups_of_four():
    assert digit_groups("0041000123456") == "0041 0001 2345 6"
    assert digit_groups("") == ""
