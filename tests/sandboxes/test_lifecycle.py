"""What every sandbox does the same way (``sandboxes._common.LoopbackSandbox``): it serves on a
free loopback port from ``start()`` until ``stop()``, starts once, and as a context manager
starts only when it is not started yet; and the ``Bearer`` key check that the SMS, tax-gateway
and e-wallet sandboxes share (``sandboxes._common.bearer_key``)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

import pytest

from sandboxes._common import LoopbackSandbox, bearer_key
from sandboxes.banknotify.server import BankNotifySandbox
from sandboxes.ewallet.server import EWalletSandbox
from sandboxes.momo.server import MomoSandbox
from sandboxes.sepay.server import SePaySandbox
from sandboxes.sms.server import SmsSandbox
from sandboxes.taxgateway.server import TaxGatewaySandbox

SANDBOXES: dict[str, Callable[[], LoopbackSandbox]] = {
    "banknotify": lambda: BankNotifySandbox("", "webhook-secret", "api-key"),
    "ewallet": lambda: EWalletSandbox("", "webhook-secret", ["sk_test_1"]),
    "momo": lambda: MomoSandbox(partner_code="P", access_key="a", secret_key="s"),
    "sepay": lambda: SePaySandbox("sepay-token"),
    "sms": lambda: SmsSandbox(["sk_test_sms"]),
    "taxgateway": lambda: TaxGatewaySandbox(["sk_test_tax"], answer_delay=0),
}


@pytest.fixture(params=sorted(SANDBOXES))
def sandbox(request):
    made = SANDBOXES[request.param]()
    yield made
    made.stop()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_it_serves_on_a_free_port_from_start_until_stop(sandbox):
    assert sandbox.start() is sandbox
    assert sandbox.port != 0
    assert re.fullmatch(rf"http://127\.0\.0\.1:{sandbox.port}", sandbox.url)
    assert listening(sandbox.port)

    sandbox.stop()

    assert not listening(sandbox.port)


def test_it_refuses_a_second_start_and_keeps_serving(sandbox):
    sandbox.start()
    port = sandbox.port

    with pytest.raises(RuntimeError, match="starts once"):
        sandbox.start()

    assert sandbox.port == port
    assert listening(port)


def test_it_refuses_to_start_again_after_it_stopped(sandbox):
    sandbox.start()
    sandbox.stop()

    with pytest.raises(RuntimeError, match="starts once"):
        sandbox.start()


def test_with_starts_it_and_stops_it_at_the_end(sandbox):
    with sandbox as entered:
        assert entered is sandbox
        assert listening(sandbox.port)
    assert not listening(sandbox.port)


def test_with_on_a_started_sandbox_keeps_its_server_and_stops_it_at_the_end(sandbox):
    sandbox.start()
    port = sandbox.port

    with sandbox as entered:
        assert entered is sandbox
        assert sandbox.port == port

    assert not listening(port)


@pytest.mark.parametrize("name", sorted(SANDBOXES))
def test_stopping_twice_or_before_starting_does_no_harm(name):
    never_started = SANDBOXES[name]()
    never_started.stop()

    started = SANDBOXES[name]().start()
    started.stop()
    started.stop()

    assert not listening(started.port)


# --------------------------------------------------------------------------- #
# Bearer keys
# --------------------------------------------------------------------------- #

KEYS = ["sk_test_one", "sk_test_two"]


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer sk_test_one", "sk_test_one"),
        ("Bearer sk_test_two", "sk_test_two"),
        ("bearer sk_test_two", "sk_test_two"),
        ("  BEARER   sk_test_one  ", "sk_test_one"),
    ],
)
def test_it_names_the_key_of_a_bearer_header(header, key):
    assert bearer_key(header, KEYS) == key


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer sk_test_three",
        "Bearer sk_test_on",
        "Bearer sk_test_one_more",
        "Basic sk_test_one",
        "Apikey sk_test_one",
        "sk_test_one",
        "Bearer sk_test_one sk_test_two",
    ],
)
def test_it_refuses_a_header_without_one_of_the_keys(header):
    assert bearer_key(header, KEYS) is None


@pytest.mark.parametrize(
    ("make", "header"),
    [
        (lambda: SmsSandbox(KEYS), "Bearer sk_test_two"),
        (lambda: TaxGatewaySandbox(KEYS), "Bearer sk_test_two"),
        (lambda: EWalletSandbox("", "secret", {"sk_test_two": "Bà Vị"}), "Bearer sk_test_two"),
    ],
)
def test_the_sandboxes_with_api_keys_authenticate_through_it(make, header):
    sandbox = make()

    assert sandbox.authenticate(header) == "sk_test_two"
    assert sandbox.authenticate("Bearer sk_test_one_more") is None
