"""The house as drawn (docs/architecture.md, "Layers and import rules"): import-linter checks the
contracts in pyproject.toml over the product's code, and the same contracts are shown to catch
an upward import, one engine importing the other and a sandbox importing the product."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _house(tmp_path: Path, bad_import: tuple[str, str]) -> Path:
    """An empty copy of the house (every root package), under the repository's contracts
    without their ignored imports, and one module holding ``bad_import``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[tool.importlinter]", f"root_packages = {json.dumps(config['root_packages'])}"]
    for contract in config["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        for key, value in contract.items():
            if key != "ignore_imports":
                lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    (tmp_path / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for package in config["root_packages"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for layer in ("stalls", "sales", "shop", "figures"):  # market's floor plan
        (tmp_path / "market" / layer).mkdir()
        (tmp_path / "market" / layer / "__init__.py").write_text("")
    for module in ("urls", "api", "apps", "home_views"):
        (tmp_path / "market" / f"{module}.py").write_text("")
    source, target = bad_import
    (tmp_path / source.replace(".", "/")).with_suffix(".py").write_text(f"import {target}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("bad_import", "broken"),
    [
        (("merchants.views", "market"), "merchants is not allowed to import market"),
        (("core.qr", "payments"), "core is not allowed to import payments"),
        (("market.stalls.views", "config"), "market is not allowed to import config"),
        # Inside market: a stall knows nothing of sales, a sale nothing of the shop or figures.
        (
            ("market.stalls.views", "market.sales"),
            "market.stalls is not allowed to import market.sales",
        ),
        (
            ("market.sales.orders", "market.shop"),
            "market.sales is not allowed to import market.shop",
        ),
        (
            ("market.sales.views", "market.figures"),
            "market.sales is not allowed to import market.figures",
        ),
        (
            ("market.shop.views", "market.figures"),
            "market.shop is not allowed to import market.figures",
        ),
        (("payments.views", "einvoice"), "payments is not allowed to import einvoice"),
        (("einvoice.pdf", "payments"), "einvoice is not allowed to import payments"),
        (("sandboxes.bank", "merchants"), "sandboxes is not allowed to import merchants"),
        (("payments.views", "sandboxes"), "payments is not allowed to import sandboxes"),
    ],
)
def test_it_refuses_an_import_against_the_drawing(tmp_path, bad_import, broken) -> None:
    result = lint_imports(_house(tmp_path, bad_import))
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout


def test_it_allows_an_import_down_the_layers(tmp_path) -> None:
    result = lint_imports(_house(tmp_path, ("virtual_expo.views", "market")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_allows_the_shop_to_sell_through_sales(tmp_path) -> None:
    result = lint_imports(_house(tmp_path, ("market.shop.storefront", "market.sales")))
    assert result.returncode == 0, result.stdout + result.stderr


# Inside payments (docs/architecture.md, "Money"): settlement is under services and ewallet, and
# ewallet under services, so the two paths of money never import each other in a circle; the
# e-wallet path's shared steps (wallet_events) are under momo, and momo under ewallet.
PAYMENTS_ORDER = """\
[tool.importlinter]
root_packages = ["payments"]

[[tool.importlinter.contracts]]
id = "payments-settlement-below"
name = "payments.settlement imports none of the modules that settle through it"
type = "forbidden"
source_modules = ["payments.settlement"]
forbidden_modules = ["payments.services", "payments.ewallet", "payments.momo",
    "payments.wallet_events", "payments.notifications", "payments.refunds"]

[[tool.importlinter.contracts]]
id = "payments-ewallet-below-services"
name = "payments.ewallet does not import payments.services"
type = "forbidden"
source_modules = ["payments.ewallet", "payments.momo", "payments.wallet_events"]
forbidden_modules = ["payments.services", "payments.notifications", "payments.refunds"]

[[tool.importlinter.contracts]]
id = "payments-momo-below-ewallet"
name = "payments.momo and payments.wallet_events import nothing of payments.ewallet"
type = "forbidden"
source_modules = ["payments.momo", "payments.wallet_events"]
forbidden_modules = ["payments.ewallet"]
"""
PAYMENTS_MODULES = (
    "services",
    "ewallet",
    "momo",
    "wallet_events",
    "notifications",
    "refunds",
    "settlement",
)


def lint_payments_order(tmp_path: Path, code: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "payments-order.toml"
    config.write_text(PAYMENTS_ORDER)
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(code)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_keeps_settlement_under_services_and_ewallet(tmp_path) -> None:
    result = lint_payments_order(tmp_path, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("bad_import", "broken"),
    [
        (("settlement", "payments.services"), "payments.settlement imports none"),
        (("settlement", "payments.ewallet"), "payments.settlement imports none"),
        (("ewallet", "payments.services"), "payments.ewallet does not import"),
        (("momo", "payments.ewallet"), "payments.momo and payments.wallet_events import nothing"),
        (("wallet_events", "payments.ewallet"), "payments.momo and payments.wallet_events"),
    ],
)
def test_it_refuses_an_import_up_inside_payments(tmp_path, bad_import, broken) -> None:
    code = tmp_path / "code"
    (code / "payments").mkdir(parents=True)
    (code / "payments" / "__init__.py").write_text("")
    for module in PAYMENTS_MODULES:
        (code / "payments" / f"{module}.py").write_text("")
    source, target = bad_import
    (code / "payments" / f"{source}.py").write_text(f"import {target}\n")
    result = lint_payments_order(tmp_path, code)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout


# An import inside a function is an import all the same: it only hides a circle until the
# function runs. Every module of payments is read whole (``ast.walk``), functions included.


def payments_imports(code: Path) -> dict[str, set[str]]:
    """Each module of ``code/payments`` (its own .py files) and the others of them it imports,
    anywhere in the module: at the top, inside functions, under ``if TYPE_CHECKING``."""
    package = code / "payments"
    modules = {path.stem for path in package.glob("*.py")} - {"__init__"}
    graph: dict[str, set[str]] = {}
    for module in modules:
        names: list[str] = []
        for node in ast.walk(ast.parse((package / f"{module}.py").read_text())):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level > 1:
                    continue  # above payments: not one of its modules
                base = "payments" if node.level else ""
                base = ".".join(part for part in (base, node.module or "") if part)
                names += [base, *(f"{base}.{alias.name}" for alias in node.names)]
        graph[module] = {
            parts[1]
            for parts in (name.split(".") for name in names)
            if parts[0] == "payments" and len(parts) > 1 and parts[1] in modules - {module}
        }
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle of imports, each once, written from its first module in sorted order."""
    circles: list[list[str]] = []

    def walk(start: str, path: list[str]) -> None:
        for target in sorted(graph[path[-1]]):
            if target == start:
                circles.append([*path, start])
            elif target > start and target not in path:
                walk(start, [*path, target])

    for start in sorted(graph):
        walk(start, [start])
    return circles


def test_it_keeps_momo_and_ewallet_out_of_a_circle() -> None:
    graph = payments_imports(ROOT)

    assert "ewallet" not in graph["momo"], "payments.momo imports payments.ewallet"
    assert not {"ewallet", "momo"} & graph["wallet_events"]
    assert import_circles(graph) == []


def test_it_finds_a_circle_hidden_inside_a_function(tmp_path) -> None:
    package = tmp_path / "payments"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ewallet.py").write_text("from .momo import momo_payment_attach\n")
    (package / "momo.py").write_text(
        "def momo_payment_attach():\n    from payments.ewallet import wallet_event_receive\n"
    )
    (package / "settlement.py").write_text("from . import signals\n")
    (package / "signals.py").write_text("")

    graph = payments_imports(tmp_path)

    assert graph["momo"] == {"ewallet"}
    assert import_circles(graph) == [["ewallet", "momo", "ewallet"]]
