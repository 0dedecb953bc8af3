"""core/clientip.py: who the client is. REMOTE_ADDR unless it is one of TRUSTED_PROXIES; then the
right-most X-Forwarded-For address that is not one of them. A header from anybody else is
ignored, so a visitor cannot pick their own rate-limit counter."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from core.clientip import client_ip, parse_ip, rate_key_ip

LB = "10.0.0.5"  # our load balancer
INNER = "10.1.0.7"  # a second proxy of ours behind it (e.g. the ingress)


def request(remote: str = "203.0.113.9", forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.fixture
def behind_proxies(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/16", INNER]


# --- no trusted proxy (the default) -------------------------------------------------------------


def test_without_trusted_proxies_the_client_is_remote_addr(settings):
    assert settings.TRUSTED_PROXIES == []

    assert client_ip(request("203.0.113.9")) == "203.0.113.9"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request("203.0.113.9", forwarded="198.51.100.1")) == "203.0.113.9"
    assert client_ip(request(LB, forwarded="198.51.100.1")) == LB


# --- behind trusted proxies -----------------------------------------------------------------------


def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(behind_proxies):
    assert client_ip(request(LB, forwarded="198.51.100.1")) == "198.51.100.1"


def test_a_spoofed_header_from_an_untrusted_address_is_ignored(behind_proxies):
    # A visitor talking to the app directly (or through someone else's proxy) writes anything.
    assert client_ip(request("203.0.113.9", forwarded="198.51.100.1")) == "203.0.113.9"
    assert client_ip(request("203.0.113.9", forwarded=LB)) == "203.0.113.9"


def test_what_the_client_wrote_left_of_our_proxy_is_not_believed(behind_proxies):
    # The client sends "X-Forwarded-For: 1.1.1.1"; the balancer appends the address it saw.
    assert client_ip(request(LB, forwarded="1.1.1.1, 198.51.100.1")) == "198.51.100.1"
    assert client_ip(request(LB, forwarded="1.1.1.1,2.2.2.2,198.51.100.1")) == "198.51.100.1"


def test_a_chain_of_our_proxies_is_walked_from_the_right(behind_proxies):
    # client -> balancer (appends the client) -> ingress (appends the balancer) -> app
    chain = "6.6.6.6, 198.51.100.1, " + LB
    assert client_ip(request(INNER, forwarded=chain)) == "198.51.100.1"


def test_when_every_hop_is_ours_the_furthest_one_is_the_client(behind_proxies):
    assert client_ip(request(INNER, forwarded=f"10.0.3.3, {LB}")) == "10.0.3.3"


def test_a_trusted_proxy_without_the_header_is_the_client(behind_proxies):
    assert client_ip(request(LB)) == LB
    assert client_ip(request(LB, forwarded="")) == LB


def test_garbage_where_an_address_should_be_stops_at_the_last_trusted_hop(behind_proxies):
    assert client_ip(request(LB, forwarded="unknown")) == LB
    assert client_ip(request(INNER, forwarded=f"198.51.100.1, nonsense, {LB}")) == LB


def test_ports_brackets_ipv6_and_mapped_addresses_are_understood(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]

    assert client_ip(request(LB, forwarded="198.51.100.1:51234")) == "198.51.100.1"
    assert client_ip(request(LB, forwarded="[2001:db8:1::7]:443")) == "2001:db8:1::7"
    assert client_ip(request("2001:db8:ffff::1", forwarded="2001:db8:1::7")) == "2001:db8:1::7"
    assert client_ip(request("::ffff:10.0.0.5", forwarded="198.51.100.1")) == "198.51.100.1"


def test_trusted_proxies_may_be_one_comma_separated_string(settings):
    settings.TRUSTED_PROXIES = "10.0.0.0/16, 10.1.0.7"

    assert client_ip(request(INNER, forwarded="198.51.100.1")) == "198.51.100.1"


def test_a_proxy_on_a_unix_socket_is_trusted_only_when_named(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request("", forwarded="198.51.100.1")) == ""

    settings.TRUSTED_PROXIES = ["unix"]
    assert client_ip(request("", forwarded="198.51.100.1")) == "198.51.100.1"
    assert client_ip(request("203.0.113.9", forwarded="198.51.100.1")) == "203.0.113.9"


def test_a_malformed_trusted_proxy_fails_loudly(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/16", "load-balancer"]

    with pytest.raises(ImproperlyConfigured, match="load-balancer"):
        client_ip(request(LB))


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("198.51.100.1", "198.51.100.1"),
        (" 198.51.100.1:80 ", "198.51.100.1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("unknown", None),
        ("_hidden", None),
        ("", None),
    ],
)
def test_it_parses_addresses_as_proxies_write_them(text, parsed):
    result = parse_ip(text)
    assert (str(result) if result else None) == parsed


def test_an_ipv6_client_is_counted_by_its_64_prefix(settings):
    settings.TRUSTED_PROXIES = []

    one = rate_key_ip(request("2001:db8:1:2:aaaa::1"))
    same_prefix = rate_key_ip(request("2001:db8:1:2:bbbb::9"))

    assert one == same_prefix == "2001:db8:1:2::"
    assert rate_key_ip(request("2001:db8:1:3::1")) != one
    assert rate_key_ip(request("198.51.100.1")) == "198.51.100.1"


def test_django_ratelimits_own_ip_key_goes_through_the_helper(behind_proxies):
    from django_ratelimit.core import is_ratelimited

    def limited(forwarded: str) -> bool:
        return is_ratelimited(
            request(LB, forwarded=forwarded), group="t", key="ip", rate="1/m", increment=True
        )

    assert not limited("198.51.100.1")
    assert limited("198.51.100.1")
    assert not limited("198.51.100.2")  # another visitor behind the same balancer


def test_an_address_alone_becomes_the_same_key():
    from core.clientip import rate_key_for

    assert rate_key_for("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::"
    assert rate_key_for("198.51.100.1") == "198.51.100.1"
    assert rate_key_for("") == "unknown"
