"""The fair's outcome report as CSV neutralises a booth name a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import pytest

from merchants.models import Merchant
from tests import factories

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example","Gốm")'


@pytest.fixture
def potter() -> Merchant:  # the conftest's potter, under a name that is a formula
    return factories.merchant_with_account(display_name=EVIL)


def test_the_outcome_report_csv_neutralises_booth_names(client, curator, exhibition, live_booth):
    client.force_login(curator)

    response = client.get(f"/quan-ly/hoi-cho/{exhibition.pk}/bao-cao.csv")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    booth = next(r for r in rows if r[0] == "Gian hàng")
    assert booth[1] == "'" + EVIL
    assert booth[2:] == ["0", "0", "0", "0", "", "0", "0"]  # numbers stay numbers
