"""The sandbox tax gateway over real HTTP (``requests``): no database, no adapter.

These tests pin the wire protocol of sandboxes/taxgateway/PROTOCOL.md: registration, asynchronous
answers, validation reasons, deduplication by UUID, numbering, batches, cancellation, faults.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from sandboxes.taxgateway import TaxGatewaySandbox, examine, tax_code_valid
from sandboxes.taxgateway.__main__ import parse_args
from sandboxes.taxgateway.samples import cash_register_code, invoice_xml
from sandboxes.taxgateway.validation import DEFAULT_XSD, Schema

KEY = "sk_test_tax"
OTHER_KEY = "sk_test_other"
MST = "0401234566"
DAY = date(2026, 3, 14)
SERIES = "C26TAA"

http = requests.Session()
http.trust_env = False


@pytest.fixture
def gateway():
    sandbox = TaxGatewaySandbox([KEY, OTHER_KEY], answer_delay=0, seed=7).start()
    yield sandbox
    sandbox.stop()


def api(gw, method: str, path: str, body: Any = None, *, key: str | None = KEY, **kw: Any):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return http.request(method, f"{gw.url}{path}", json=body, headers=headers, **kw)


def register(gw, series: str = SERIES, form: str = "1", tax_code: str = MST) -> dict[str, Any]:
    answer = api(
        gw, "POST", "/v1/registrations", {"tax_code": tax_code, "form": form, "series": series}
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def submit(
    gw, number: int = 1, invoice_uuid: str | None = None, timeout: float = 5, **xml: Any
) -> requests.Response:
    xml.setdefault("issued_on", DAY)
    xml.setdefault("series", SERIES)
    body = {"uuid": invoice_uuid or str(uuid.uuid4()), "xml": invoice_xml(number=number, **xml)}
    return api(gw, "POST", "/v1/invoices", body, timeout=timeout)


def codes(invoice: dict[str, Any]) -> set[str]:
    return {r["code"] for r in invoice["reasons"]}


def test_it_registers_a_series_once_with_a_unique_five_character_prefix(gateway):
    first = register(gateway)
    again = register(gateway)
    other = register(gateway, series="C26MAB", form="2")

    assert len(first["register_prefix"]) == 5 and first["register_prefix"].isalnum()
    assert again["register_prefix"] == first["register_prefix"]
    assert other["register_prefix"] != first["register_prefix"]
    bad = api(
        gateway,
        "POST",
        "/v1/registrations",
        {"tax_code": "0401234567", "form": "1", "series": SERIES},
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "tax_code_invalid")


def test_it_accepts_a_valid_invoice_with_an_authority_code_after_the_answer_delay(gateway):
    register(gateway)
    gateway.set_faults(answer_delay=0.3)
    invoice_uuid = str(uuid.uuid4())

    first = submit(gateway, invoice_uuid=invoice_uuid)
    assert first.status_code == 202
    assert first.json()["status"] == "processing"
    assert api(gateway, "GET", f"/v1/invoices/{invoice_uuid}").json()["status"] == "processing"
    time.sleep(0.35)
    answer = api(gateway, "GET", f"/v1/invoices/{invoice_uuid}").json()

    assert answer["status"] == "accepted"
    assert len(answer["authority_code"]) == 34
    assert answer["reasons"] == []
    assert answer["answered_at"] >= answer["received_at"] + 0.3


def test_an_accepted_coded_invoice_comes_back_as_the_authoritys_document(gateway):
    from lxml import etree

    register(gateway)
    register(gateway, series="K26TAA")
    sent = invoice_xml(number=1, issued_on=DAY, series=SERIES)
    coded = api(gateway, "POST", "/v1/invoices", {"uuid": str(uuid.uuid4()), "xml": sent}).json()
    assert coded["status"] == "accepted" and coded["xml"]
    doc = etree.fromstring(coded["xml"].encode())
    assert doc.findtext("MCCQT") == coded["authority_code"]
    assert doc.find("DSCKS/CQT/{http://www.w3.org/2000/09/xmldsig#}Signature") is not None
    mine = etree.fromstring(sent.encode())
    assert etree.tostring(doc.find("DLHDon"), method="c14n") == etree.tostring(
        mine.find("DLHDon"), method="c14n"
    )
    from signxml import XMLVerifier

    XMLVerifier().verify(coded["xml"].encode(), x509_cert=gateway.authority.certificate_pem)
    uncoded = submit(gateway, 1, series="K26TAA").json()
    assert uncoded["status"] == "accepted" and uncoded["xml"] is None


def test_it_rejects_totals_that_do_not_add_up_with_reasons(gateway):
    register(gateway)

    wrong_payable = submit(gateway, 1, payable=1).json()
    wrong_tax = submit(gateway, 2, tax=999).json()
    wrong_before = submit(gateway, 3, before_tax=5).json()

    assert wrong_payable["status"] == "rejected"
    assert codes(wrong_payable) == {"total_payable_mismatch"}
    assert "total_tax_mismatch" in codes(wrong_tax)
    assert "total_before_tax_mismatch" in codes(wrong_before)
    assert all(r["message"] for r in wrong_payable["reasons"])


def test_it_rejects_a_bad_seller_tax_code(gateway):
    register(gateway)
    answer = submit(gateway, tax_code="0401234567").json()
    assert answer["status"] == "rejected"
    assert "seller_tax_code_invalid" in codes(answer)
    assert tax_code_valid("001085012345")  # a 12-digit personal ID (household business)
    assert tax_code_valid("0401234566-001")


def test_it_rejects_an_unregistered_series_and_a_wrong_year(gateway):
    register(gateway)
    unregistered = submit(gateway, series="C26TZZ").json()
    wrong_year = submit(gateway, series="C25TAA").json()
    assert codes(unregistered) == {"series_not_registered"}
    assert "series_year_mismatch" in codes(wrong_year)


def test_it_validates_against_the_project_xsd(gateway):
    if not DEFAULT_XSD.exists():
        pytest.skip("einvoice/schema/hdon.xsd not written yet")
    register(gateway)
    broken = invoice_xml(number=1, issued_on=DAY).replace("<TGia>1</TGia>", "")
    answer = api(gateway, "POST", "/v1/invoices", {"uuid": str(uuid.uuid4()), "xml": broken}).json()
    assert answer["status"] == "rejected"
    assert codes(answer) == {"xsd_invalid"}
    assert examine(invoice_xml(number=1, issued_on=DAY), Schema()).reasons == []


def test_it_skips_the_xsd_when_the_file_is_missing(tmp_path, caplog):
    schema = Schema(tmp_path / "missing.xsd")
    facts = examine(invoice_xml(number=1, issued_on=DAY), schema)
    assert facts.reasons == []
    assert "not found: schema validation skipped" in caplog.text


def test_it_answers_malformed_xml_as_a_rejection_and_a_missing_uuid_as_400(gateway):
    answer = api(
        gateway, "POST", "/v1/invoices", {"uuid": str(uuid.uuid4()), "xml": "<HDon>"}
    ).json()
    assert codes(answer) == {"xml_malformed"}
    missing = api(gateway, "POST", "/v1/invoices", {"xml": "<HDon/>"})
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "uuid")
    assert missing.headers["Should-Retry"] == "false"


def test_it_deduplicates_by_uuid_and_never_makes_a_second_record(gateway):
    register(gateway)
    invoice_uuid = str(uuid.uuid4())
    xml = invoice_xml(number=1, issued_on=DAY)

    answers = [
        api(gateway, "POST", "/v1/invoices", {"uuid": invoice_uuid, "xml": xml}) for _ in range(3)
    ]
    with ThreadPoolExecutor(8) as pool:
        answers += list(
            pool.map(
                lambda _: api(gateway, "POST", "/v1/invoices", {"uuid": invoice_uuid, "xml": xml}),
                range(8),
            )
        )

    assert [a.status_code for a in answers].count(202) == 1
    assert all(
        a.headers.get("Invoice-Duplicate") == "true" for a in answers if a.status_code == 200
    )
    assert len({a.json()["authority_code"] for a in answers}) == 1
    stats = api(gateway, "GET", "/v1/_sandbox/stats", key=None).json()
    counter = stats["invoices"][invoice_uuid]
    assert counter["submissions"] == 11
    assert counter["duplicates"] == 10
    assert counter["records"] == 1
    assert counter["accepted"] == 1
    assert stats["totals"]["invoices"] == 1


def test_it_refuses_the_same_uuid_with_another_xml(gateway):
    register(gateway)
    invoice_uuid = str(uuid.uuid4())
    submit(gateway, 1, invoice_uuid)
    conflict = submit(gateway, 1, invoice_uuid, lines=[("Cá thu", "1", 200_000, "8%")])
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (
        409,
        "invoice_uuid_conflict",
    )


def test_it_rejects_a_duplicate_number_in_a_series_and_year(gateway):
    register(gateway)
    assert submit(gateway, 1).json()["status"] == "accepted"
    again = submit(gateway, 1).json()
    assert codes(again) == {"number_duplicate"}


def test_it_waits_for_the_previous_number_and_rejects_a_gap_after_the_timeout(gateway):
    register(gateway)
    gateway.set_faults(gap_timeout=0.3)
    submit(gateway, 1)
    third = submit(gateway, 3).json()
    second = submit(gateway, 2).json()
    fifth = submit(gateway, 5).json()

    assert third["status"] == "processing"  # waited for number 2 …
    assert second["status"] == "accepted"
    assert api(gateway, "GET", f"/v1/invoices/{third['uuid']}").json()["status"] == "accepted"
    assert fifth["status"] == "processing"
    time.sleep(0.35)
    late = api(gateway, "GET", f"/v1/invoices/{fifth['uuid']}").json()
    assert codes(late) == {"number_gap"}


def test_it_takes_an_end_of_day_batch_of_cash_register_invoices(gateway):
    prefix = register(gateway, series="C26MAB", form="2")["register_prefix"]
    items = []
    for n in range(1, 4):
        code = cash_register_code(form="2", year=2026, prefix=prefix, sequence=n)
        xml = invoice_xml(
            number=n,
            form="2",
            series="C26MAB",
            issued_on=DAY,
            cash_register_code=code,
            lines=[("Rau", "2", 7_500, "")],
        )
        items.append({"uuid": str(uuid.uuid4()), "xml": xml})
    wrong = cash_register_code(form="2", year=2026, prefix="ZZZZZ", sequence=9)
    items.append(
        {
            "uuid": str(uuid.uuid4()),
            "xml": invoice_xml(
                number=4,
                form="2",
                series="C26MAB",
                issued_on=DAY,
                cash_register_code=wrong,
                lines=[("Rau", "2", 7_500, "")],
            ),
        }
    )
    items.append({"uuid": str(uuid.uuid4()), "xml": invoice_xml(number=9, issued_on=DAY)})
    items.append({"uuid": "not-a-uuid", "xml": "<HDon/>"})

    answer = api(gateway, "POST", "/v1/batches", {"date": DAY.isoformat(), "items": items})
    again = api(gateway, "POST", "/v1/batches", {"date": DAY.isoformat(), "items": items[:3]})

    assert answer.status_code == 202
    results = answer.json()["results"]
    assert [r["invoice"]["status"] for r in results[:3]] == ["accepted"] * 3
    assert results[0]["invoice"]["authority_code"] == items[0]["xml"].split("<MCCQT>")[1][:23]
    assert codes(results[3]["invoice"]) == {"register_code_mismatch"}
    assert results[4]["error"]["code"] == "not_cash_register"
    assert results[5]["error"]["param"] == "uuid"
    assert [r["duplicate"] for r in again.json()["results"]] == [True] * 3
    batch = api(gateway, "GET", f"/v1/batches/{answer.json()['id']}").json()
    assert len(batch["results"]) == 6


def test_it_cancels_an_accepted_invoice_once(gateway):
    register(gateway)
    accepted = submit(gateway, 1).json()
    rejected = submit(gateway, 2, payable=3).json()

    first = api(gateway, "POST", f"/v1/invoices/{accepted['uuid']}/cancel", {"reason": "Sai giá"})
    again = api(gateway, "POST", f"/v1/invoices/{accepted['uuid']}/cancel", {"reason": "Sai giá"})
    refused = api(gateway, "POST", f"/v1/invoices/{rejected['uuid']}/cancel", {"reason": "x"})

    assert first.status_code == again.status_code == 200
    assert first.json()["canceled_at"] == again.json()["canceled_at"] is not None
    assert first.json()["cancel_reason"] == "Sai giá"
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "invoice_not_cancelable")
    stats = api(gateway, "GET", "/v1/_sandbox/stats", key=None).json()
    assert stats["invoices"][accepted["uuid"]]["cancellations"] == 1


def test_it_requires_the_api_key_and_keeps_invoices_per_key(gateway):
    register(gateway)
    mine = submit(gateway, 1).json()
    assert api(gateway, "GET", f"/v1/invoices/{mine['uuid']}", key=None).status_code == 401
    assert api(gateway, "GET", f"/v1/invoices/{mine['uuid']}", key="wrong").status_code == 401
    other = api(gateway, "GET", f"/v1/invoices/{mine['uuid']}", key=OTHER_KEY)
    assert (other.status_code, other.json()["error"]["code"]) == (404, "resource_missing")


def test_it_fails_before_doing_anything_with_error_faults(gateway):
    register(gateway)
    gateway.set_faults(fail_next=1, fail_next_mode="error")
    failed = submit(gateway, 1)
    assert failed.status_code == 503
    assert failed.headers["Should-Retry"] == "true"
    assert gateway.stats()["totals"]["invoices"] == 0


def test_it_records_the_invoice_even_when_the_answer_times_out(gateway):
    register(gateway)
    gateway.set_faults(fail_next=1, fail_next_mode="timeout", hang_seconds=1.0)
    invoice_uuid = str(uuid.uuid4())
    with pytest.raises(requests.Timeout):
        submit(gateway, 1, invoice_uuid, timeout=0.2)
    assert api(gateway, "GET", f"/v1/invoices/{invoice_uuid}").json()["status"] == "accepted"


def test_it_records_the_invoice_and_still_answers_500_with_error_after(gateway):
    register(gateway)
    gateway.set_faults(fail_next=1, fail_next_mode="error_after")
    invoice_uuid = str(uuid.uuid4())
    assert submit(gateway, 1, invoice_uuid).status_code == 500
    assert gateway.stats()["invoices"][invoice_uuid]["records"] == 1


def test_it_draws_the_same_faults_from_the_same_seed():
    def pattern(seed: int) -> list[int]:
        with TaxGatewaySandbox([KEY], seed=seed) as gw:
            gw.set_faults(error_rate=0.5)
            return [api(gw, "GET", f"/v1/invoices/{uuid.uuid4()}").status_code for _ in range(20)]

    assert pattern(3) == pattern(3)
    assert set(pattern(3)) == {503, 404}


def test_it_shows_validates_and_resets_faults(gateway):
    changed = api(
        gateway, "POST", "/v1/_sandbox/faults", {"error_rate": 0.3, "timeout_rate": 0.1}, key=None
    )
    assert changed.json()["error_rate"] == 0.3
    bad = api(
        gateway, "POST", "/v1/_sandbox/faults", {"error_rate": 2, "answer_delay": 1}, key=None
    )
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "error_rate")
    unknown = api(gateway, "POST", "/v1/_sandbox/faults", {"nope": 1}, key=None)
    assert unknown.json()["error"]["code"] == "parameter_unknown"
    assert api(gateway, "GET", "/v1/_sandbox/faults", key=None).json()["answer_delay"] == 0
    api(gateway, "POST", "/v1/_sandbox/reset", key=None)
    assert api(gateway, "GET", "/v1/_sandbox/faults", key=None).json()["error_rate"] == 0


def test_it_answers_unknown_paths_and_methods_cleanly(gateway):
    assert api(gateway, "GET", "/v1/nothing").status_code == 404
    assert api(gateway, "GET", "/v1/invoices").status_code == 405
    assert api(gateway, "GET", "/healthz", key=None).json()["ok"] is True
    not_json = http.post(
        f"{gateway.url}/v1/invoices", data=b"{", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert not_json.json()["error"]["code"] == "invalid_json"


def test_it_reads_cli_options_from_the_environment():
    args = parse_args(["--port", "0", "--answer-delay", "0.5"], env={"TAXGATEWAY_API_KEY": "a, b"})
    assert args.api_keys == ["a", "b"]
    assert args.answer_delay == 0.5
    assert parse_args([], env={}).api_keys == ["sandbox-taxgateway-key"]
    assert parse_args([], env={}).port == 8103


def test_it_runs_as_a_module_on_the_port_given():
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "sandboxes.taxgateway", "--port", "0", "--quiet", "--api-key", KEY],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Sandbox tax gateway listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split("/v1/")[0]
        assert http.get(f"{url}/healthz").json()["ok"] is True
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_it_takes_a_prefix_the_register_already_has_and_refuses_a_taken_one(gateway):
    body = {"tax_code": MST, "form": "2", "series": "C26MAB", "register_prefix": "A1B2C"}
    first = api(gateway, "POST", "/v1/registrations", body)
    other = api(gateway, "POST", "/v1/registrations", {**body, "series": "C26MCD"})
    changed = api(gateway, "POST", "/v1/registrations", {**body, "register_prefix": "ZZZZ9"})
    assert (first.status_code, first.json()["register_prefix"]) == (201, "A1B2C")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "prefix_taken")
    assert (changed.status_code, changed.json()["error"]["code"]) == (409, "registration_conflict")


REAL_WORLD = Path(__file__).resolve().parents[1] / "einvoice" / "fixtures" / "real_world"


@pytest.mark.parametrize(
    "name",
    [
        "sales_form2.xml",  # a sales invoice without TgTCThue/TgTThue
        "sales_with_fees.xml",  # a service fee (DSLPhi) in the payable
        "coded_vat_34char.xml",  # amounts with decimals, payable rounded to the đồng
        "mtt_vat_cash_register.xml",  # tax 348655 for 348655.2
        "promotion_discount.xml",  # a trade-discount line written negative
        "foreign_currency_usd.xml",
    ],
)
def test_it_raises_no_false_alarm_on_real_world_business_rules(name):
    xml = (REAL_WORLD / name).read_text(encoding="utf-8")

    assert examine(xml, None).reasons == []


def test_it_still_flags_a_difference_of_one_dong_and_a_vat_invoice_without_totals():
    xml = (REAL_WORLD / "mtt_vat_cash_register.xml").read_text(encoding="utf-8")
    off_by_one = xml.replace("<TgTTTBSo>4706845<", "<TgTTTBSo>4706846<")
    rounding = xml.replace("<TgTTTBSo>4706845<", "<TgTTTBSo>4706845.4<")
    no_before_tax = xml.replace("<TgTCThue>4358190</TgTCThue>", "")

    assert codes({"reasons": examine(off_by_one, None).reasons}) == {"total_payable_mismatch"}
    assert examine(rounding, None).reasons == []
    assert codes({"reasons": examine(no_before_tax, None).reasons}) == {"totals_missing"}
