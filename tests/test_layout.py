"""tests/ mirrors the package: every module that defines a function has a test file of its own.

The name is the module's path with ``/`` as ``_``: ``optbench/report/plots.py`` ->
``tests/test_report_plots.py``, a package's ``__init__.py`` -> ``tests/test_<package>.py``,
``hydra_plugins/optbench_tune/sweeper.py`` -> ``tests/test_hydra_plugins_optbench_tune_sweeper.py``.
A module of data only (constants, dataclasses without methods, re-exports) needs none. A new
module with logic fails here until it has its file, so "where are this module's tests?" has one
answer (docs/testing.md, Layout).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("optbench", "hydra_plugins")


def test_file_of(module: Path) -> str:
    parts = list(module.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "optbench":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return "test_" + "_".join(parts) + ".py"


test_file_of.__test__ = False  # a helper, not a test


def has_logic(module: Path) -> bool:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in ast.walk(tree))


MODULES = sorted(
    path
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if "conf" not in path.relative_to(ROOT).parts and has_logic(path)
)


def test_the_naming_rule():
    assert test_file_of(ROOT / "optbench/report/plots.py") == "test_report_plots.py"
    assert test_file_of(ROOT / "optbench/tracking/__init__.py") == "test_tracking.py"
    assert test_file_of(ROOT / "optbench/cli.py") == "test_cli.py"
    assert (
        test_file_of(ROOT / "hydra_plugins/optbench_tune/sweeper.py")
        == "test_hydra_plugins_optbench_tune_sweeper.py"
    )
    assert has_logic(ROOT / "optbench/report/stats.py")
    assert not has_logic(ROOT / "optbench/__main__.py")  # one import and a call: no def


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_with_logic_has_its_own_test_file(module: Path):
    expected = ROOT / "tests" / test_file_of(module)
    assert expected.exists(), f"{module.relative_to(ROOT)} has logic but no {expected.name}"
