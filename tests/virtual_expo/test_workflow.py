"""Application → changes requested → resubmitted → approved → published; edits of a published
booth: text at once, products or prices back to review; only curators decide; audited."""

from __future__ import annotations

import pytest

from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import AuditLog
from merchants.services import product_update
from tests import factories
from virtual_expo import curation, selectors, services
from virtual_expo.models import Booth, BoothReview

from .conftest import ALL_CHECKS, approve, booth_input, make_product

pytestmark = pytest.mark.django_db
S = Booth.Status


def test_it_goes_from_application_to_published_through_a_request_for_changes(
    curator, exhibition, potter, potter_owner, pots
):
    booth = services.booth_apply(
        actor=potter_owner,
        merchant=potter,
        exhibition=exhibition,
        data=booth_input(exhibition, pots),
        submit=True,
    )
    assert booth.status == S.PENDING

    curation.booth_review(
        actor=curator,
        booth_id=booth.pk,
        decision="request_changes",
        checklist={"business_verified": True},
        comment="Thêm ảnh thật của sản phẩm và giá.",
    )
    booth.refresh_from_db()
    assert booth.status == S.CHANGES_REQUESTED
    review = booth.reviews.get()
    assert review.comment == "Thêm ảnh thật của sản phẩm và giá."  # the applicant sees it

    data = booth_input(exhibition, pots)
    data.story_vi = "Bốn đời làm gốm. Ảnh chụp tại xưởng."
    booth = services.booth_update(actor=potter_owner, booth=booth, data=data)
    booth = services.booth_submit(actor=potter_owner, booth=booth)
    assert booth.status == S.PENDING

    booth = approve(curator, booth, publish=False)
    assert booth.status == S.APPROVED and not booth.is_published
    assert list(selectors.public_booths(exhibition=exhibition)) == []

    curation.booth_publish(actor=curator, booth_id=booth.pk, published=True)
    shown = list(selectors.public_booths(exhibition=exhibition))
    assert [b.pk for b in shown] == [booth.pk]
    assert {bp.product_id for bp in shown[0].shown} == {p.pk for p in pots}
    actions = list(
        AuditLog.objects.filter(target_type="virtual_expo.booth", target_id=str(booth.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[-3:] == ["booth.submit", "booth.approve", "booth.publish"]
    assert "booth.request_changes" in actions
    decided = AuditLog.objects.get(action="booth.request_changes")
    assert decided.actor == curator and decided.reason.startswith("Thêm ảnh")


def test_it_refuses_to_approve_without_the_required_checks(
    curator, exhibition, potter, potter_owner, pots
):
    booth = services.booth_apply(
        actor=potter_owner,
        merchant=potter,
        exhibition=exhibition,
        data=booth_input(exhibition, pots),
        submit=True,
    )
    checks = dict(ALL_CHECKS, prices_shown=False, descriptions_en=False)
    with pytest.raises(ValidationFailed) as exc:
        curation.booth_review(
            actor=curator, booth_id=booth.pk, decision="approve", checklist=checks
        )
    assert exc.value.code == "checklist_incomplete"
    # English is optional
    curation.booth_review(
        actor=curator,
        booth_id=booth.pk,
        decision="approve",
        checklist=dict(ALL_CHECKS, descriptions_en=False),
    )


@pytest.mark.parametrize("decision", ["request_changes", "reject"])
def test_it_needs_a_comment_to_ask_for_changes_or_reject(curator, live_booth, decision):
    with pytest.raises(ValidationFailed):
        curation.booth_review(actor=curator, booth_id=live_booth.pk, decision=decision)


def test_a_rejection_keeps_its_reason_and_hides_nothing_that_was_never_shown(
    curator, exhibition, potter, potter_owner, pots
):
    booth = services.booth_apply(
        actor=potter_owner,
        merchant=potter,
        exhibition=exhibition,
        data=booth_input(exhibition, pots),
        submit=True,
    )
    curation.booth_review(
        actor=curator, booth_id=booth.pk, decision="reject", comment="Không phải hàng thủ công."
    )
    booth.refresh_from_db()
    assert booth.status == S.REJECTED
    assert booth.reviews.get().decision == BoothReview.Decision.REJECT
    with pytest.raises(Conflict):
        curation.booth_publish(actor=curator, booth_id=booth.pk, published=True)


def test_only_staff_with_the_permission_decide(exhibition, potter, potter_owner, pots, live_booth):
    other = factories.merchant_with_account()
    other_owner = factories.member_of(other)
    booth = services.booth_apply(
        actor=other_owner,
        merchant=other,
        exhibition=exhibition,
        data=booth_input(exhibition, [make_product(other, "Nón lá")]),
        submit=True,
    )
    plain_staff = factories.UserFactory(is_staff=True)
    for user in (plain_staff, potter_owner, factories.staff_reviewer()):
        with pytest.raises(PermissionDenied):
            curation.booth_review(
                actor=user, booth_id=booth.pk, decision="approve", checklist=ALL_CHECKS
            )
        with pytest.raises(PermissionDenied):
            curation.booth_publish(actor=user, booth_id=live_booth.pk, published=False)
    booth.refresh_from_db()
    assert booth.status == S.PENDING


def test_a_text_fix_on_a_published_booth_applies_at_once(
    potter_owner, live_booth, exhibition, pots
):
    data = booth_input(exhibition, pots)
    data.tagline_vi = "Gốm đỏ nặn tay bên sông Thu Bồn"
    booth = services.booth_update(actor=potter_owner, booth=live_booth, data=data)
    assert booth.status == S.APPROVED and booth.is_published
    assert booth.pending_changes == []
    shown = selectors.public_booths(exhibition=exhibition).get()
    assert shown.tagline_vi == "Gốm đỏ nặn tay bên sông Thu Bồn"


def test_adding_a_product_to_a_published_booth_sends_it_back_to_review(
    curator, potter, potter_owner, live_booth, exhibition, pots
):
    vase = make_product(potter, "Tượng gốm con giáp", 120_000)
    booth = services.booth_update(
        actor=potter_owner, booth=live_booth, data=booth_input(exhibition, [*pots, vase])
    )
    assert booth.status == S.PENDING and booth.pending_changes == ["products"]
    # visitors keep seeing what was approved, without the new product
    shown = selectors.public_booths(exhibition=exhibition).get()
    assert {bp.product_id for bp in shown.shown} == {p.pk for p in pots}

    approve(curator, booth)
    shown = selectors.public_booths(exhibition=exhibition).get()
    assert {bp.product_id for bp in shown.shown} == {p.pk for p in [*pots, vase]}


def test_removing_a_product_waits_for_review_too(
    curator, potter_owner, live_booth, exhibition, pots
):
    booth = services.booth_update(
        actor=potter_owner, booth=live_booth, data=booth_input(exhibition, pots[:1])
    )
    assert booth.status == S.PENDING
    assert len(selectors.public_booths(exhibition=exhibition).get().shown) == 2
    approve(curator, booth)
    assert [bp.product_id for bp in selectors.public_booths(exhibition=exhibition).get().shown] == [
        pots[0].pk
    ]


def test_a_price_change_sends_the_booth_back_to_review_and_hides_the_new_price(
    curator, potter_owner, live_booth, exhibition, pots
):
    booth = services.booth_product_price(
        actor=potter_owner, booth=live_booth, product_id=pots[0].pk, price=390_000
    )
    assert booth.status == S.PENDING and booth.pending_changes == ["prices"]
    shown = selectors.public_booths(exhibition=exhibition).get().shown
    assert [bp.product_id for bp in shown] == [pots[1].pk]  # not at an unreviewed price

    approve(curator, booth)
    shown = selectors.public_booths(exhibition=exhibition).get().shown
    assert {bp.product_id: bp.approved_price for bp in shown}[pots[0].pk] == 390_000


def test_a_catalogue_price_change_is_caught_on_the_next_edit(
    potter_owner, live_booth, exhibition, pots
):
    product_update(actor=potter_owner, product=pots[1], price=500_000)
    booth = services.booth_recheck_prices(actor=potter_owner, booth=live_booth)
    assert booth.status == S.PENDING and "prices" in booth.pending_changes


def test_an_application_outside_the_window_is_refused(curator, potter, potter_owner, pots):
    from datetime import timedelta

    from django.utils import timezone

    from .conftest import make_exhibition

    now = timezone.now()
    closed = make_exhibition(
        curator,
        title_vi="Hội chợ cũ",
        applications_open_at=now - timedelta(days=30),
        applications_close_at=now - timedelta(days=10),
    )
    with pytest.raises(Conflict):
        services.booth_apply(
            actor=potter_owner,
            merchant=potter,
            exhibition=closed,
            data=booth_input(closed, pots),
            submit=True,
        )


def test_one_booth_per_business_and_exhibition(potter, potter_owner, live_booth, exhibition, pots):
    with pytest.raises(Conflict):
        services.booth_apply(
            actor=potter_owner,
            merchant=potter,
            exhibition=exhibition,
            data=booth_input(exhibition, pots),
            submit=False,
        )


def test_it_refuses_products_of_another_merchant(exhibition, potter, potter_owner):
    foreign = make_product(factories.MerchantFactory(), "Gốm lạ")
    with pytest.raises(ValidationFailed):
        services.booth_apply(
            actor=potter_owner,
            merchant=potter,
            exhibition=exhibition,
            data=booth_input(exhibition, [foreign]),
            submit=True,
        )


def test_an_incomplete_booth_cannot_be_submitted(exhibition, potter, potter_owner):
    with pytest.raises(ValidationFailed) as exc:
        services.booth_apply(
            actor=potter_owner,
            merchant=potter,
            exhibition=exhibition,
            data=booth_input(exhibition, []),
            submit=True,
        )
    assert "products" in exc.value.fields


def test_curators_feature_and_order_booths(curator, exhibition, live_booth):
    other = factories.merchant_with_account(display_name="Đặc sản Bà Mai")
    owner = factories.member_of(other)
    second = services.booth_apply(
        actor=owner,
        merchant=other,
        exhibition=exhibition,
        data=booth_input(exhibition, [make_product(other, "Chả bò")], category="dac-san"),
        submit=True,
    )
    approve(curator, second)
    curation.booth_feature(actor=curator, booth_id=second.pk, featured=True)
    assert [b.pk for b in selectors.public_booths(exhibition=exhibition)] == [
        second.pk,
        live_booth.pk,
    ]
    curation.booth_feature(actor=curator, booth_id=second.pk, featured=False)
    curation.booths_reorder(
        actor=curator, exhibition=exhibition, booth_ids=[second.pk, live_booth.pk]
    )
    assert [b.pk for b in selectors.public_booths(exhibition=exhibition)] == [
        second.pk,
        live_booth.pk,
    ]
    curation.booth_move(actor=curator, booth_id=second.pk, direction=1)
    assert [b.pk for b in selectors.public_booths(exhibition=exhibition)] == [
        live_booth.pk,
        second.pk,
    ]
    curation.booth_publish(actor=curator, booth_id=second.pk, published=False)
    assert [b.pk for b in selectors.public_booths(exhibition=exhibition)] == [live_booth.pk]


def test_exhibition_dates_and_categories_are_checked(curator):
    from datetime import timedelta

    from django.utils import timezone

    from .conftest import make_exhibition

    now = timezone.now()
    with pytest.raises(ValidationFailed) as exc:
        make_exhibition(curator, opens_at=now, closes_at=now - timedelta(days=1), categories=[])
    assert {"closes_at", "categories"} <= set(exc.value.fields)
    with pytest.raises(PermissionDenied):
        make_exhibition(factories.UserFactory(is_staff=True))
