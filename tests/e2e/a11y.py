"""Accessibility checks for the browser tests: axe-core (npm, dev only) and tap-target sizes.

axe runs in the page through the DevTools protocol (``page.evaluate``), so the site's CSP, which
allows no inline script, does not stand in its way.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
MIN_TAP = 44  # px, WCAG 2.5.5 / the target for trader and shopper pages

_RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "")),
  }));
}"""

# Every control a finger taps, measured as laid out. A link inside a sentence is exempt (WCAG
# 2.5.8's inline exception), as are controls that are not displayed.
_SMALL_TARGETS = """(min) => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  const out = [];
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === "hidden") continue;
    if (el.closest(".sr-only, [hidden], .inquiry .field:has(input[name=website])")) continue;
    // A tick box's label toggles it too: the label (around it or beside it) is the target.
    const label = el.matches("input[type=radio], input[type=checkbox]")
      && (el.closest("label") || (el.labels && el.labels[0]));
    if (label && label.getBoundingClientRect().height >= min) continue;
    if (el.tagName === "A" && style.display === "inline") {
      const parent = el.parentElement;
      const text = parent ? parent.textContent.replace(el.textContent, "").trim() : "";
      if (text.length > 0) continue;  // a link in running text
    }
    if (r.height < min - 0.5 || r.width < min - 0.5) {
      const id = el.id ? "#" + el.id : "";
      const name = `${el.tagName.toLowerCase()}${id}.${[...el.classList].join(".")}`;
      const text = (el.textContent || el.value || "").trim().slice(0, 30);
      out.push(`${name} "${text}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
  }
  return out;
}"""


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    assert AXE_JS.exists(), f"{AXE_JS} missing: run `npm ci` (bin/test does)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    return [v for v in page.evaluate(_RUN_AXE) if v["impact"] in impacts]


def small_tap_targets(page: Page, minimum: int = MIN_TAP) -> list[str]:
    return page.evaluate(_SMALL_TARGETS, minimum)


def assert_accessible(page: Page, *, taps: bool = True) -> None:
    """No serious or critical axe violation; with ``taps``, every tap target at least 44 px."""
    violations = axe_violations(page)
    assert not violations, f"{page.url}: axe: {violations}"
    if taps:
        small = small_tap_targets(page)
        assert not small, f"{page.url}: tap targets under {MIN_TAP} px: {small}"
