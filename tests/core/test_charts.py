"""core.charts: the server-drawn bar charts of the takings, tax and dashboard pages."""

from __future__ import annotations

import pytest

from core.charts import bar_chart, short_vnd


def chart(values, **kwargs):
    n = len(values)
    return bar_chart(
        title="t",
        desc="d",
        values=values,
        labels=[f"day {i}" for i in range(n)],
        tick_labels=["" if i % 2 else f"{i}" for i in range(n)],
        value_text=[f"{v} đ" for v in values],
        top_label="top",
        **kwargs,
    )


def test_it_scales_bars_to_the_largest_value() -> None:
    c = chart([100, 50, 0])
    heights = [bar.height for bar in c.bars]
    assert heights[0] == pytest.approx(2 * heights[1])
    assert heights[2] == 0
    assert all(bar.y + bar.height <= c.baseline + 0.01 for bar in c.bars)


def test_it_highlights_today_and_labels_every_bar_for_screen_readers() -> None:
    c = chart([10, 20, 30])
    assert [bar.highlight for bar in c.bars] == [False, False, True]
    assert c.bars[1].label == "day 1: 20 đ"
    # The last tick ends at the right edge so "Hôm nay" is never cut off.
    assert c.x_labels[-1] == (float(c.width - 2), "2", "end")


def test_it_draws_a_refund_day_below_the_baseline() -> None:
    c = chart([100, -50])
    assert c.bars[1].negative
    assert c.bars[1].y == c.baseline
    assert c.baseline < c.height


def test_it_keeps_an_empty_month_drawable() -> None:
    c = chart([0, 0, 0], max_value=0)
    assert all(bar.height == 0 for bar in c.bars)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "0"),
        (850_000, "850 N"),
        (3_500_000, "3,5 tr"),
        (1_200_000_000, "1,2 tỷ"),
        (150_000_000, "150 tr"),
        (-2_000_000, "−2 tr"),
    ],
)
def test_it_writes_compact_money_for_chart_labels(amount: int, text: str) -> None:
    assert short_vnd(amount) == text
