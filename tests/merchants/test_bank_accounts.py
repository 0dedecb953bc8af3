"""Bank accounts that receive shoppers' transfers: `/api/v1/merchants/<id>/bank-accounts` and the
NAPAS bank list `/api/v1/merchants/banks`."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from core.errors import ValidationFailed
from core.models import AuditLog
from merchants.models import BankAccount, Membership
from merchants.services import bank_account_add, bank_account_remove
from tests.factories import BankAccountFactory, MerchantFactory, member_of

pytestmark = pytest.mark.django_db

VCB, BIDV = "970436", "970418"


def url(merchant, account=None) -> str:
    base = f"/api/v1/merchants/{merchant.pk}/bank-accounts"
    return f"{base}/{account.pk}" if account else base


def add(client, merchant, **overrides):
    body = {
        "bank_bin": VCB,
        "account_number": "0041000123456",
        "holder_name": "Nguyễn Thị Lan",
        **overrides,
    }
    return client.post(url(merchant), body, content_type="application/json")


def defaults(merchant) -> list[int]:
    return list(merchant.bank_accounts.filter(is_default=True).values_list("pk", flat=True))


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_it_lists_napas_banks_by_bin_without_signing_in(client):
    response = client.get("/api/v1/merchants/banks")

    assert response.status_code == 200
    banks = {bank["bin"]: bank for bank in response.json()}
    assert banks[VCB]["short_name"] == "Vietcombank"
    assert banks[VCB]["name"] == "Ngân hàng TMCP Ngoại thương Việt Nam"
    assert BIDV in banks
    assert all(len(b) == 6 and b.isdigit() for b in banks)


def test_it_adds_an_account_as_the_owner(owner_client, merchant, owner):
    response = add(owner_client, merchant, account_number=" 0041 000 123456 ")

    assert response.status_code == 201
    body = response.json()
    account = BankAccount.objects.get(pk=body["id"])
    assert account.merchant == merchant
    assert account.account_number == body["account_number"] == "0041000123456"
    assert body["bank_short_name"] == "Vietcombank"
    assert account.is_default and body["is_default"]
    audit = AuditLog.objects.get(action="bank_account.add")
    assert (audit.actor, audit.target_id) == (owner, str(account.pk))


def test_it_stores_the_holder_name_in_upper_case_ascii(owner_client, merchant):
    response = add(owner_client, merchant, holder_name="  Nguyễn   Thị Lan ")

    assert response.json()["holder_name"] == "NGUYEN THI LAN"
    assert BankAccount.objects.get().holder_name == "NGUYEN THI LAN"


def test_it_lists_the_default_account_first(owner_client, merchant):
    other = BankAccountFactory(merchant=merchant, is_default=False)
    default = BankAccountFactory(merchant=merchant, is_default=True)

    response = owner_client.get(url(merchant))

    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [default.pk, other.pk]


def test_it_answers_403_to_a_cashier(client, merchant):
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = add(client, merchant)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not BankAccount.objects.exists()


def test_it_answers_404_to_another_merchants_user(client, merchant):
    client.force_login(member_of(MerchantFactory()))

    response = add(client, merchant)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not BankAccount.objects.exists()


@pytest.mark.parametrize("bank_bin", ["999999", "97043", "", "vcb"])
def test_it_answers_422_for_an_unknown_bank(owner_client, merchant, bank_bin):
    response = add(owner_client, merchant, bank_bin=bank_bin)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["bank_bin"]
    assert not BankAccount.objects.exists()


@pytest.mark.parametrize(
    "number",
    ["123", "1" * 20, "0041-000-123", "00410001234ă", "", "٠١٢٣٤٥٦٧"],
)
def test_it_answers_422_for_a_bad_account_number(owner_client, merchant, number):
    response = add(owner_client, merchant, account_number=number)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["account_number"]
    assert not BankAccount.objects.exists()


@pytest.mark.parametrize("holder", ["", "   ", "A" * 51])
def test_it_answers_422_for_a_bad_holder_name(owner_client, merchant, holder):
    response = add(owner_client, merchant, holder_name=holder)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["holder_name"]


def test_it_answers_422_for_the_same_account_twice(owner_client, merchant):
    assert add(owner_client, merchant).status_code == 201

    response = add(owner_client, merchant, account_number="0041 0001 23456")

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["account_number"]
    assert merchant.bank_accounts.count() == 1


def test_it_allows_the_same_account_number_at_another_bank(owner_client, merchant):
    assert add(owner_client, merchant).status_code == 201

    assert add(owner_client, merchant, bank_bin=BIDV).status_code == 201


def test_it_moves_the_default_to_a_new_default_account(owner_client, merchant):
    first = add(owner_client, merchant, account_number="111111").json()

    second = add(owner_client, merchant, account_number="222222", is_default=True).json()

    assert defaults(merchant) == [second["id"]]
    assert BankAccount.objects.get(pk=first["id"]).is_default is False


def test_it_keeps_the_default_when_adding_a_non_default_account(owner_client, merchant):
    first = add(owner_client, merchant, account_number="111111").json()

    second = add(owner_client, merchant, account_number="222222", is_default=False).json()

    assert second["is_default"] is False
    assert defaults(merchant) == [first["id"]]


def test_it_makes_the_first_account_the_default_even_if_not_asked(owner_client, merchant):
    response = add(owner_client, merchant, is_default=False)

    assert response.json()["is_default"] is True
    assert defaults(merchant) == [response.json()["id"]]


def test_the_database_refuses_two_default_accounts(merchant):
    BankAccountFactory(merchant=merchant, is_default=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        BankAccountFactory(merchant=merchant, is_default=True)


def test_the_database_allows_one_default_per_merchant(merchant):
    BankAccountFactory(merchant=merchant, is_default=True)
    BankAccountFactory(merchant=MerchantFactory(), is_default=True)
    BankAccountFactory(merchant=merchant, is_default=False)

    assert BankAccount.objects.filter(is_default=True).count() == 2


def test_it_removes_an_account(owner_client, merchant, owner):
    account = BankAccountFactory(merchant=merchant, is_default=False)
    BankAccountFactory(merchant=merchant, is_default=True)

    response = owner_client.delete(url(merchant, account))

    assert response.status_code == 204
    assert not BankAccount.objects.filter(pk=account.pk).exists()
    audit = AuditLog.objects.get(action="bank_account.remove")
    assert (audit.actor, audit.target_id) == (owner, str(account.pk))


def test_it_promotes_another_account_when_the_default_is_removed(owner_client, merchant):
    default = BankAccountFactory(merchant=merchant, is_default=True)
    older = BankAccountFactory(merchant=merchant, is_default=False)
    newer = BankAccountFactory(merchant=merchant, is_default=False)

    assert owner_client.delete(url(merchant, default)).status_code == 204

    assert defaults(merchant) == [older.pk]
    assert BankAccount.objects.get(pk=newer.pk).is_default is False


def test_it_leaves_no_default_when_the_last_account_is_removed(owner_client, merchant):
    only = BankAccountFactory(merchant=merchant, is_default=True)

    assert owner_client.delete(url(merchant, only)).status_code == 204

    assert not merchant.bank_accounts.exists()


def test_it_answers_404_for_an_unknown_account(owner_client, merchant):
    response = owner_client.delete(f"{url(merchant)}/999999")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_answers_403_when_a_cashier_removes_an_account(client, merchant):
    account = BankAccountFactory(merchant=merchant)
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = client.delete(url(merchant, account))

    assert response.status_code == 403
    assert BankAccount.objects.filter(pk=account.pk, is_default=True).exists()


def test_the_service_refuses_bad_input_without_writing(merchant, owner):
    with pytest.raises(ValidationFailed) as caught:
        bank_account_add(
            actor=owner, merchant=merchant, bank_bin="000000", account_number="x", holder_name=""
        )

    assert set(caught.value.fields) == {"bank_bin", "account_number", "holder_name"}
    assert not BankAccount.objects.exists()
    assert not AuditLog.objects.exists()


def test_the_service_promotes_the_oldest_remaining_account(merchant, owner):
    first = bank_account_add(
        actor=owner, merchant=merchant, bank_bin=VCB, account_number="111111", holder_name="Lan"
    )
    second = bank_account_add(
        actor=owner, merchant=merchant, bank_bin=VCB, account_number="222222", holder_name="Lan"
    )
    third = bank_account_add(
        actor=owner,
        merchant=merchant,
        bank_bin=VCB,
        account_number="333333",
        holder_name="Lan",
        make_default=False,
    )
    assert defaults(merchant) == [second.pk]

    bank_account_remove(actor=owner, account=second)

    assert defaults(merchant) == [first.pk]
    assert third.pk not in defaults(merchant)


def test_it_refuses_an_account_already_registered_to_another_merchant(owner_client, merchant):
    other = MerchantFactory()
    BankAccountFactory(merchant=other, bank_bin=VCB, account_number="0041000123456")

    response = add(owner_client, merchant)

    assert response.status_code == 422
    assert "account_number" in response.json()["error"]["fields"]
    assert not merchant.bank_accounts.exists()
    # A bank notification for that account keeps naming exactly one merchant.
    assert BankAccount.objects.filter(account_number="0041000123456").count() == 1
