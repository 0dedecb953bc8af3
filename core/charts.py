"""Bar charts drawn on the server as inline SVG (no JavaScript), for phones.

``bar_chart`` lays the bars out; a template draws them (templates/market/reports/_bars.html).
Used by the takings, tax and dashboard pages (market.figures.views); any app's pages may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def short_vnd(amount: int) -> str:
    """Compact money for chart labels: 1,2 tỷ · 3,5 tr · 850 N · 0."""
    sign = "−" if amount < 0 else ""
    value = abs(amount)
    for size, unit in ((1_000_000_000, "tỷ"), (1_000_000, "tr"), (1_000, "N")):
        if value >= size:
            whole, rest = divmod(value * 10 // size, 10)
            text = f"{whole}" if rest == 0 or whole >= 100 else f"{whole},{rest}"
            return f"{sign}{text} {unit}"
    return f"{sign}{value}"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what a screen reader / tooltip says
    negative: bool
    highlight: bool


@dataclass(frozen=True)
class BarChart:
    title: str
    desc: str
    width: int
    height: int
    baseline: float
    top: float
    bars: list[Bar]
    top_label: str
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor


def bar_chart(
    *,
    title: str,
    desc: str,
    values: Sequence[int],
    labels: Sequence[str],
    tick_labels: Sequence[str],
    value_text: Sequence[str],
    top_label: str,
    highlight_last: bool = True,
    max_value: int | None = None,
) -> BarChart:
    """Bars for an inline SVG 320 × 150 (scales to the phone's width)."""
    width, height, left, top, bottom = 320, 150, 4, 16, 20
    plot_h = height - top - bottom
    high = max([max_value or 0, *values, 1])
    low = min([0, *values])
    span = high - low
    baseline = top + plot_h * high / span
    n = max(len(values), 1)
    step = (width - left * 2) / n
    bars = []
    for i, (value, label, text) in enumerate(zip(values, labels, value_text, strict=True)):
        h = plot_h * abs(value) / span
        bars.append(
            Bar(
                x=round(left + i * step + step * 0.15, 2),
                y=round(baseline - h if value >= 0 else baseline, 2),
                width=round(step * 0.7, 2),
                height=round(max(h, 0.0), 2),
                label=f"{label}: {text}",
                negative=value < 0,
                highlight=highlight_last and i == n - 1,
            )
        )
    x_labels = [
        # The last label ends at the right edge, so "Hôm nay" is never cut off.
        (float(width - 2), tick, "end")
        if i == n - 1
        else (round(left + i * step + step / 2, 2), tick, "middle")
        for i, tick in enumerate(tick_labels)
        if tick
    ]
    return BarChart(
        title=title,
        desc=desc,
        width=width,
        height=height,
        baseline=round(baseline, 2),
        top=top,
        bars=bars,
        top_label=top_label,
        x_labels=x_labels,
    )
