"""One tree of application errors, mapped by config/api.py to one JSON shape:

    {"error": {"code": "...", "message": "...", "fields": {...}}}

Messages are lazy translations, so they come out in the language of the request (Vietnamese by
default, English when the request asks for it).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status = 400
    code = "bad_request"
    default_message: Any = _("Yêu cầu không hợp lệ.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.fields = fields or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": str(self.message),
                "fields": {name: [str(m) for m in msgs] for name, msgs in self.fields.items()},
            }
        }


class ValidationFailed(ApplicationError):
    status = 422
    code = "validation_error"
    default_message = _("Dữ liệu chưa hợp lệ, vui lòng kiểm tra lại.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        # A field error given as one message is kept as a list of one.
        normalised = {
            k: (v if isinstance(v, list | tuple) else [v]) for k, v in (fields or {}).items()
        }
        super().__init__(message, code=code, fields=normalised)


class NotAuthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"
    default_message = _("Bạn cần đăng nhập hoặc dùng khóa API hợp lệ.")


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"
    default_message = _("Bạn không có quyền thực hiện thao tác này.")


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    default_message = _("Không tìm thấy.")


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    default_message = _("Thao tác xung đột với trạng thái hiện tại.")


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
    default_message = _("Bạn thử quá nhiều lần, vui lòng đợi một lúc.")


def validation_error_from_django(exc: Any) -> ValidationFailed:
    """Turn a django.core.exceptions.ValidationError into our error, keeping field messages."""
    if hasattr(exc, "error_dict"):
        fields = {
            name: [m for e in errs for m in e.messages] for name, errs in exc.error_dict.items()
        }
        return ValidationFailed(fields=fields)
    return ValidationFailed(" ".join(exc.messages))


class ProviderUnavailable(ApplicationError):
    status = 503
    code = "provider_unavailable"
    default_message = _("Dịch vụ thanh toán đang bận, vui lòng thử lại sau ít phút.")
