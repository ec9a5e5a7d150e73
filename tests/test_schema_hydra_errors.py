"""Mistakes Hydra catches while composing, as optbench's one line with the closest names and
exit 2 (Hydra printed 6-28 lines and exited 1), through the real CLI entry in this process."""

from __future__ import annotations

import pytest

from optbench.schema.hydra_errors import closest
from tests.conftest import run_cli


def _refused(optbench_main, folder, *argv: str) -> str:
    done = optbench_main(*argv, cwd=folder)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()  # one line, nothing on stdout
    assert done.stdout == "" and line.startswith("error: ")
    return line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["optimiser=adam"], "optimiser is not a known key; did you mean optimizer?"),
        (["optimizer=adma"], "optimizer=adma is not an option of optimizer; did you mean "),
        (["optimizer=Adam"], "did you mean optimizer=adam? optimizer takes: adafactor,"),
        (
            ["trainer.max_iter=ten"],
            "trainer.max_iter=ten is not allowed: Value 'ten' of type 'str' could not be "
            "converted to Integer.",
        ),
        (["optimizer=adam,sgd"], "a sweep needs -m (optbench -m optimizer=adam,sgd)"),
        (["trainer.max_itr=3"], "did you mean trainer.max_iter? (trainer accepts: max_iter,"),
        (["model=mlp", "optimizer.lrr=1"], "optimizer.lrr is not a known key; did you mean "),
        (["dataset=cifar100"], "dataset=cifar100 is not an option of dataset;"),
    ],
    ids=[
        "unknown-group",
        "typo-option",
        "case",
        "type",
        "list-without-m",
        "key",
        "group-key",
        "missing-dataset",
    ],
)
def test_composition_mistakes_are_one_line_with_a_suggestion(
    optbench_main, tmp_path, argv, expected
):
    line = _refused(optbench_main, tmp_path, *argv)
    assert expected in line
    assert "adma" not in line or "optimizer=adam" in line
    assert not (tmp_path / "runs").exists()  # nothing started, no store


@pytest.mark.slow
def test_a_sweep_with_a_typo_is_refused_before_its_parent_run(tmp_path):
    """A subprocess: Hydra's multirun sets up logging on the streams it finds, which in this
    process would be pytest's captured ones."""
    done = run_cli("-m", "optimizer=saga,lbfgz", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "optimizer=lbfgz is not an option of optimizer; did you mean optimizer=lbfgs?" in line
    assert not (tmp_path / "runs").exists()


def test_closest_prefers_a_case_insensitive_match():
    assert closest("Adam", ["adamax", "adam", "nadam"]) == ["adam"]
    assert closest("mnsit", ["mnist", "digits"]) == ["mnist"]
    assert closest("zzz", ["mnist", "digits"]) == []


def test_version_is_optbench_s(optbench_main, tmp_path):
    from importlib.metadata import version

    done = optbench_main("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"optbench {version('optbench')}"
