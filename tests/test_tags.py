"""optbench/tags.py: the overrides tag's one text form, and no tag key or runs/ path written
anywhere else in the package (a key spelled twice is a key that can drift)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from optbench import tags as tag

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "optbench").rglob("*.py"), *(ROOT / "hydra_plugins").rglob("*.py")])
VOCABULARY = {ROOT / "optbench" / "tags.py", ROOT / "optbench" / "paths.py"}
DOTTED = re.compile(r"(?<![\w.])(optbench|mlflow)(\.\w+)+\.?")
NOT_TAGS = {"mlflow.tracking_store"}  # an entry-point group: where MLflow finds store plugins


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["optimizer=adam", "seed=0"],
        ["optimizer=saga,lbfgs", "+experiment=convergence_study"],
        ["run_name='my run'", 'dataset.note="a \\"quoted\\" word"', "x=it's"],
    ],
)
def test_overrides_roundtrip(overrides: list[str]) -> None:
    text = tag.encode_overrides(overrides)
    assert json.loads(text) == overrides
    assert tag.decode_overrides(text) == overrides


def test_decode_reads_the_space_joined_form_of_older_sweep_parents() -> None:
    assert tag.decode_overrides("optimizer=saga,lbfgs seed=0,1") == [
        "optimizer=saga,lbfgs",
        "seed=0,1",
    ]
    assert tag.decode_overrides("run_name='my run' seed=0") == ["run_name=my run", "seed=0"]
    assert tag.decode_overrides("") == []


def test_where_builds_a_search_clause() -> None:
    assert tag.where(tag.ROLE, tag.ROLE_SWEEP) == "tags.`optbench.role` = 'sweep'"
    assert tag.where(tag.CONFIG_HASH, "", "!=") == "tags.`optbench.config_hash` != ''"
    assert tag.choice("model") == tag.MODEL


def _is_module(dotted: str) -> bool:
    """optbench.data.mnist, optbench.conf, optbench.optim.functions:rosenbrock: code, not tags."""
    parts = dotted.rstrip(".").split(".")
    if parts[0] != "optbench":
        return False
    path = ROOT.joinpath(*parts)
    return path.with_suffix(".py").exists() or path.is_dir() or parts[:2] == ["optbench", "conf"]


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant but docstrings, with its line."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def _runs_paths(tree: ast.AST) -> list[int]:
    """Lines where "runs" is a path: "runs/...", Path("runs"), "runs" / ... ."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and str(node.value).startswith("runs/"):
            lines.append(node.lineno)
        operands = []
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Path":
            operands = node.args
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands = [node.left, node.right]
        lines += [o.lineno for o in operands if isinstance(o, ast.Constant) and o.value == "runs"]
    return lines


def test_no_tag_key_outside_tags_py() -> None:
    found = []
    for source in SOURCES:
        if source in VOCABULARY:
            continue
        for line, text in _strings(ast.parse(source.read_text())):
            for match in DOTTED.finditer(text):
                if match.group(0) not in NOT_TAGS and not _is_module(match.group(0)):
                    found.append(f"{source.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert not found, "tag keys belong in optbench/tags.py:\n" + "\n".join(found)


def test_no_runs_path_outside_paths_py() -> None:
    found = [
        f"{source.relative_to(ROOT)}:{line}"
        for source in SOURCES
        if source not in VOCABULARY
        for line in _runs_paths(ast.parse(source.read_text()))
    ]
    assert not found, "the runs folder's paths belong in optbench/paths.py:\n" + "\n".join(found)
