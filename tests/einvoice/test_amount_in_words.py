"""Total payable in words (TgTTTBChu), as core.vnwords writes it on the invoice."""

from __future__ import annotations

import pytest

from core.vnwords import amount_in_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "Không đồng"),
        (15, "Mười lăm đồng"),
        (101, "Một trăm linh một đồng"),
        (2_024, "Hai nghìn không trăm hai mươi bốn đồng"),
        (21_000, "Hai mươi mốt nghìn đồng"),
        (110_500, "Một trăm mười nghìn năm trăm đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (1_020_000, "Một triệu không trăm hai mươi nghìn đồng"),
        (1_447_860, "Một triệu bốn trăm bốn mươi bảy nghìn tám trăm sáu mươi đồng"),
        (21_000_000, "Hai mươi mốt triệu đồng"),
        (1_000_000_000, "Một tỷ đồng"),
        (2_500_000_005, "Hai tỷ năm trăm triệu không trăm linh năm đồng"),
    ],
)
def test_it_writes_amounts_in_words(amount, words):
    assert amount_in_words(amount) == words
