"""Phone-first pages for traders: sign-up, sign-in, their merchant, bank accounts, catalogue."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import ratelimits
from core.errors import ApplicationError
from core.forms import apply_error
from merchants.auth import AuthedRequest

from . import extensions, selectors, services
from .first_day import first_day_next
from .forms import (
    TAX_BY_GOODS,
    ApiKeyForm,
    BankAccountForm,
    MemberForm,
    MerchantForm,
    PhoneLoginForm,
    ProductForm,
    SignUpForm,
)
from .models import Membership, Merchant, Product
from .selectors import Principal

LOGIN_IP_GROUP = "login:ip"


class LoginView(auth_views.LoginView):
    """Sign in. Two limits: the number's lock-out (PhoneLoginForm, LOGIN_MAX_FAILURES) and the
    client's failed sign-ins whatever the numbers tried (RATE_LOGIN_PER_IP, core.clientip); both
    answer 429 with Retry-After."""

    form_class = PhoneLoginForm
    template_name = "merchants/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        verdict = ratelimits.peek(request, group=LOGIN_IP_GROUP, rate="RATE_LOGIN_PER_IP")
        if verdict.limited:
            return ratelimits.too_many_page(
                request,
                verdict.retry_after,
                _("Có quá nhiều lần đăng nhập sai từ mạng của bạn."),
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        ratelimits.hit(self.request, group=LOGIN_IP_GROUP, rate="RATE_LOGIN_PER_IP")
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "locked"):
            response.status_code = 429
            response["Retry-After"] = str(settings.LOGIN_LOCK_SECONDS)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "merchants/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        messages.success(self.request, _("Đã đổi mật khẩu."))
        return super().form_valid(form)


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_register(
                phone=data["phone"],
                full_name=data["full_name"],
                password=data["password"],
                email=data.get("email") or "",
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Chào mừng bạn đến với Chợ Số!"))
            return redirect("merchant_create")
    return render(request, "merchants/signup.html", {"form": form})


@login_required
def merchant_create(request: AuthedRequest) -> HttpResponse:
    # A household business is registered in its owner's name: one field less to type.
    # (The registered name is Vietnamese whatever the page's language.)
    initial = {"legal_name": f"Hộ kinh doanh {request.user.full_name}"}
    form = MerchantForm(request.POST or None, initial=initial if request.user.full_name else None)
    if request.method == "POST" and form.is_valid():
        try:
            merchant = services.merchant_create(user=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request, _("Đã tạo cửa hàng %(name)s.") % {"name": merchant.display_name}
            )
            return first_day_next(request, merchant, after="", default=merchant_url(merchant))
    return render(request, "merchants/merchant_form.html", {"form": form})


def merchant_url(merchant: Merchant) -> str:
    return reverse("merchant_detail", args=[merchant.pk])


def _merchant(request: AuthedRequest, merchant_id: int, owner: bool = False):
    return selectors.merchant_for(
        principal=Principal(user=request.user),
        merchant_id=merchant_id,
        owner=owner,
    )


@login_required
def merchant_detail(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    role = selectors.role_in(user=request.user, merchant=merchant)
    context = {
        "merchant": merchant,
        "is_owner": role == Membership.Role.OWNER,
        "bank_accounts": selectors.bank_accounts_of(merchant=merchant),
        "products": selectors.products_of(merchant=merchant),
        "members": merchant.memberships.select_related("user").order_by("role", "id"),
        "api_keys": selectors.api_keys_of(merchant=merchant) if role == "owner" else [],
        "stalls": merchant.stalls.select_related("market"),
    }
    return render(request, "merchants/merchant_detail.html", context)


@login_required
def bank_account_add(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    # The account is most often in the owner's own name, as the bank writes it.
    form = BankAccountForm(request.POST or None, initial={"holder_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.bank_account_add(
                actor=request.user,
                merchant=merchant,
                bank_bin=data["bank_bin"],
                account_number=data["account_number"],
                holder_name=data["holder_name"],
                make_default=data["is_default"],
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Đã thêm tài khoản ngân hàng."))
            return first_day_next(
                request, merchant, after="bank_account", default=merchant_url(merchant)
            )
    return render(request, "merchants/bank_account_form.html", {"form": form, "merchant": merchant})


@login_required
@require_POST
def bank_account_remove(request: AuthedRequest, merchant_id: int, account_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    account = selectors.bank_account_of(merchant=merchant, account_id=account_id)
    services.bank_account_remove(actor=request.user, account=account)
    messages.success(request, _("Đã xóa tài khoản ngân hàng."))
    return redirect("merchant_detail", merchant_id=merchant.pk)


def _suggested_tax(merchant: Merchant) -> str:
    """A new product's VAT category as the stall's kind of goods suggests (fresh food: none)."""
    goods = extensions.goods_category(merchant)
    return TAX_BY_GOODS.get(goods or "", Product.TaxCategory.NOT_SUBJECT)


@login_required
def product_edit(
    request: AuthedRequest, merchant_id: int, product_id: int | None = None
) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    product = selectors.product_of(merchant=merchant, product_id=product_id) if product_id else None
    initial = (
        {
            f: getattr(product, f)
            for f in (
                "name",
                "unit",
                "price",
                "sold_by_weight",
                "tax_category",
                "is_active",
                "in_stock",
                "description",
                "pos_favourite",
            )
        }
        if product
        else {"tax_category": _suggested_tax(merchant)}
    )
    form = ProductForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 422  # a refused form (a photo too large, not an image, …) is answered 4xx
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if not (k == "photo" and v is None)}
            try:
                if product is None:
                    services.product_create(actor=request.user, merchant=merchant, **data)
                else:
                    services.product_update(actor=request.user, product=product, **data)
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Đã lưu sản phẩm."))
                if product is None:
                    return first_day_next(
                        request, merchant, after="product", default=merchant_url(merchant)
                    )
                return redirect("merchant_detail", merchant_id=merchant.pk)
    return render(
        request,
        "merchants/product_form.html",
        {"form": form, "merchant": merchant, "product": product},
        status=status,
    )


@login_required
@require_POST
def product_stock_toggle(request: AuthedRequest, merchant_id: int, product_id: int) -> HttpResponse:
    """ "Hết hàng" / "Còn hàng" in one tap, by anyone selling at the stall."""
    merchant = _merchant(request, merchant_id)
    product = selectors.product_of(merchant=merchant, product_id=product_id)
    in_stock = request.POST.get("in_stock") == "1"
    services.product_update(actor=request.user, product=product, in_stock=in_stock)
    if in_stock:
        messages.success(request, _("“%(name)s” đã có hàng lại.") % {"name": product.name})
    else:
        messages.success(request, _("Đã đánh dấu “%(name)s” hết hàng.") % {"name": product.name})
    return redirect(f"{reverse('merchant_detail', args=[merchant.pk])}#product-{product.pk}")


@login_required
def member_add(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_add(actor=request.user, merchant=merchant, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Đã thêm người bán hàng."))
            return redirect("merchant_detail", merchant_id=merchant.pk)
    return render(request, "merchants/member_form.html", {"form": form, "merchant": merchant})


@login_required
def api_key_create(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    form = ApiKeyForm(request.POST or None)
    raw_key = None
    if request.method == "POST" and form.is_valid():
        _key, raw_key = services.api_key_create(
            actor=request.user,
            merchant=merchant,
            name=form.cleaned_data["name"],
        )
    return render(
        request,
        "merchants/api_key_form.html",
        {"form": form, "merchant": merchant, "raw_key": raw_key},
    )


@login_required
@require_POST
def api_key_revoke(request: AuthedRequest, merchant_id: int, key_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    key = selectors.api_key_of(merchant=merchant, key_id=key_id)
    services.api_key_revoke(actor=request.user, key=key)
    messages.success(request, _("Đã thu hồi khóa API."))
    return redirect("merchant_detail", merchant_id=merchant.pk)
