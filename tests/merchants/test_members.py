"""An owner adds a family member to sell at the stall (`/cua-hang/<id>/nguoi-ban/them/`)."""

from __future__ import annotations

import pytest

from core.errors import Conflict, ValidationFailed
from core.models import AuditLog
from merchants.models import Membership
from merchants.services import membership_add
from tests.factories import MerchantFactory, UserFactory, member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


def page(merchant) -> str:
    return f"/cua-hang/{merchant.pk}/nguoi-ban/them/"


def test_it_adds_a_registered_user_as_cashier_by_any_phone_spelling(client, merchant, owner):
    relative = UserFactory(phone="+84905123456")
    client.force_login(owner)

    response = client.post(page(merchant), {"phone": "0905-123-456", "role": "cashier"})

    assert response.status_code == 302
    membership = Membership.objects.get(user=relative)
    assert (membership.merchant, membership.role) == (merchant, Membership.Role.CASHIER)
    audit = AuditLog.objects.get(action="membership.add")
    assert (audit.actor, audit.data) == (owner, {"role": "cashier"})


def test_the_new_cashier_can_open_the_merchant(client, merchant, owner):
    relative = UserFactory(phone="+84905123456")
    membership_add(actor=owner, merchant=merchant, phone="0905123456", role="cashier")
    client.force_login(relative)

    assert client.get(f"/cua-hang/{merchant.pk}/").status_code == 200
    assert client.get(f"/api/v1/merchants/{merchant.pk}").status_code == 200


def test_it_shows_an_error_for_a_phone_without_an_account(client, merchant, owner):
    client.force_login(owner)

    response = client.post(page(merchant), {"phone": "0905 123 456", "role": "cashier"})

    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert merchant.memberships.count() == 1


def test_it_shows_an_error_when_the_person_is_already_a_member(client, merchant, owner):
    client.force_login(owner)

    response = client.post(page(merchant), {"phone": owner.phone, "role": "cashier"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Membership.objects.get(user=owner).role == Membership.Role.OWNER


def test_the_service_refuses_an_unknown_role(merchant, owner):
    UserFactory(phone="+84905123456")

    with pytest.raises(ValidationFailed) as caught:
        membership_add(actor=owner, merchant=merchant, phone="0905123456", role="admin")

    assert set(caught.value.fields) == {"role"}


def test_the_service_refuses_a_second_membership(merchant, owner):
    with pytest.raises(Conflict):
        membership_add(actor=owner, merchant=merchant, phone=owner.phone, role="cashier")
