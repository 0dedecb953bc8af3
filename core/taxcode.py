"""Vietnamese tax identifiers (mã số thuế, MST).

Accepted: a 10-digit enterprise tax code with a valid check digit, a 13-character branch code
(10 digits + "-" + 3 digits), or — since 1 July 2025 (Circular 86/2024/TT-BTC) — the 12-digit
personal identification number (số định danh cá nhân, the citizen-ID number) that replaced the tax
code of individuals and household businesses.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

_PERSONAL_ID = re.compile(r"^\d{12}$")
# Province codes of the 12-digit personal ID run from 001 to 096.
_MAX_PROVINCE = 96


def is_personal_id(value: str) -> bool:
    return bool(_PERSONAL_ID.match(value)) and 1 <= int(value[:3]) <= _MAX_PROVINCE


def normalize_tax_code(raw: str) -> str:
    """Return the canonical form ('0401234567', '0401234567-001' or 12 digits)."""
    text = re.sub(r"[\s.]", "", raw or "")
    if _PERSONAL_ID.match(text):
        if is_personal_id(text):
            return text
        raise ValidationError(
            _("Số định danh cá nhân 12 số không hợp lệ (mã tỉnh phải từ 001 đến 096)."),
            code="invalid_personal_id",
        )
    try:
        compact = mst.validate(text)
    except StdnumError:
        raise ValidationError(
            _(
                "Mã số thuế không hợp lệ: cần 10 số (có số kiểm tra đúng), 10 số + '-' + 3 số "
                "cho chi nhánh, hoặc số định danh cá nhân 12 số."
            ),
            code="invalid_tax_code",
        ) from None
    return compact if len(compact) == 10 else f"{compact[:10]}-{compact[10:]}"
