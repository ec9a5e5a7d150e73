"""The suite's scorecard (optbench/suite/scorecard.py) on hand-made results whose speedups and
scores can be worked out by hand: the cells of index.html and scorecard.md, the performance
profile PNG in each optimizer's colour, and the page as headless Chromium renders it; and pools
of suites read back from an MLflow store (optbench/suite/pool.py and stored.py, `optbench suite --score`)."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from pathlib import Path

import pytest

from optbench.errors import OptbenchError
from optbench.report.plots import colours_for
from optbench.suite import pool, stored
from optbench.suite.result import HEADER, WorkloadResult
from optbench.suite.scorecard import (
    INTERVAL,
    NO_BASELINES,
    SCORE_HEADER,
    SPEEDUP,
    speedup_column,
    write,
)
from optbench.suite.workloads import Workload
from tests.conftest import client
from tests.test_tracking_server import needs_chromium, rendered

inf = math.inf
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def result(name: str, steps: list[float], final: list[float]) -> WorkloadResult:
    unit = "steps" if name == "quad" else "epochs"
    metric, value = ("distance_to_min", 1e-3) if name == "quad" else ("val_accuracy", 0.95)
    work = Workload(name, f"{name} by hand", metric, value, 50, unit)
    seconds = [s / 10 for s in steps]
    return WorkloadResult(work, steps=steps, gradients=steps, seconds=seconds, final=final)


# submission "mysign": quad in 100 steps (median of 3 seeds), mnist not reached (2 of 3 missed)
RESULTS = [
    result("quad", [100.0, 90.0, 120.0], [1e-4, 2e-4, 5e-4]),
    result("mnist", [inf, 50.0, inf], [0.93, 0.96, 0.94]),
]
BUDGETS = {"quad": 250.0, "mnist": 1000.0}  # in steps
# nadamw: quad 200, mnist 80; adamw: quad 300, past the 250-step budget (not reached), mnist 100
BASELINES = {
    "nadamw": {"quad": [200.0] * 3, "mnist": [80.0] * 3},
    "adamw": {"quad": [300.0] * 3, "mnist": [100.0] * 3},
}


def pool_of(label: str, results: list[WorkloadResult] = RESULTS, theirs=BASELINES):
    mine = {label: {r.workload.name: r.steps for r in results}}
    return pool.with_baselines(mine, theirs, BUDGETS, label)


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row included)."""

    def __init__(self, page: str):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.in_cell = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("")
            self.in_cell = True
        elif tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag: str) -> None:
        self.in_cell = self.in_cell and tag not in ("td", "th")

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.tables[-1][-1][-1] += data


def by_first_cell(table: list[list[str]]) -> dict[str, dict[str, str]]:
    header, *rows = table
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def test_speedup_column_by_hand():
    results = [*RESULTS, result("nobody", [inf, inf, inf], [math.nan] * 3)]
    theirs = {b: {**per, "nobody": [inf]} for b, per in BASELINES.items()}
    budgets = {**BUDGETS, "nobody": 100.0}
    mine = {"mysign": {r.workload.name: r.steps for r in results}}
    speedups = speedup_column(results, pool.with_baselines(mine, theirs, budgets, "x"), "mysign")
    assert speedups["quad"] == pytest.approx(2.0)  # nadamw's 200 / 100; adamw's 300 is cut
    assert speedups["mnist"] == 0.0  # the median over seeds is inf: not reached
    assert math.isnan(speedups["nobody"])
    only_me = {"mysign": {"quad": [40.0]}}
    assert speedup_column(RESULTS[:1], pool.with_baselines(only_me, {"nadamw": {"quad": [inf]}},
                          BUDGETS, "x"), "mysign") == {"quad": inf}  # fmt: skip
    assert math.isnan(speedup_column(RESULTS, None, "mysign")["quad"])  # no baselines at all


def test_write_tables_markdown_and_profile(tmp_path):
    out = tmp_path / "suite-x"
    scored = pool_of("mysign")
    assert scored.label == "mysign + 2 tuned baselines"
    path = write(out, title="suite x", label="mysign", results=RESULTS, pool=scored)
    assert path == out / "index.html"
    text = path.read_text()
    page = Tables(text)
    workloads, scores = page.tables
    assert workloads[0] == [*HEADER, SPEEDUP]
    rows = by_first_cell(workloads)
    assert rows["quad"][SPEEDUP] == "2.00x" and rows["quad"]["steps to target (median)"] == "100"
    assert rows["quad"]["reached"] == "3/3" and rows["quad"]["budget"] == "50 steps"
    assert rows["mnist"][SPEEDUP] == "not reached" and rows["mnist"]["reached"] == "1/3"
    assert rows["mnist"]["final metric, median [min, max]"] == "0.94 [0.93, 0.96]"
    # medians: mysign quad 100, mnist inf; nadamw 200, 80; adamw inf (past budget), 100
    # ratios: mysign 1, inf -> (4-1)/2/3 = 0.5; nadamw 2, 1 -> 5/6; adamw inf, 1.25 -> 2.75/6
    # speed-up over nadamw, a miss counting budget + 1: mysign sqrt(200/100 * 80/1001) = 0.40,
    # adamw sqrt(200/251 * 80/100) = 0.80, on the 2 workloads one side reached
    assert scores[0] == SCORE_HEADER and INTERVAL == "95% interval"
    cells = {row[0]: [row[1], row[2], row[4], row[6]] for row in scores[1:]}
    assert cells == {
        "mysign": ["1/2", "0.500", "0.40x", "2/2"],
        "nadamw (baseline)": ["2/2", "0.833", "1.00x", "2/2"],
        "adamw (baseline)": ["1/2", "0.458", "0.80x", "2/2"],
    }
    for name, row in by_first_cell(scores).items():  # every interval holds its point
        for point, interval in [
            (SCORE_HEADER[2], SCORE_HEADER[3]),
            (SCORE_HEADER[4], SCORE_HEADER[5]),
        ]:
            low, high = (float(v) for v in row[interval].strip("[]").split(","))
            assert low <= float(row[point].rstrip("x")) <= high, (name, row)
    # mysign's seeds disagree, and resampling them moves everyone's best times
    assert by_first_cell(scores)["mysign"][SCORE_HEADER[3]] != "[0.500, 0.500]"
    assert "pool: mysign + 2 tuned baselines" in text and "budget + 1" in text
    assert page.images == ["performance_profile.png"]
    figure = out / "performance_profile.png"
    assert figure.read_bytes()[:8] == PNG_MAGIC
    from matplotlib.image import imread

    pixels = imread(figure)[:, :, :3]
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    for name, colour in colours_for(["mysign", "nadamw (baseline)"]).items():
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        drawn = (abs(pixels - rgb) < 2 / 255).all(axis=2).sum()
        assert drawn > 50, f"{name}'s line is not drawn in its colour {colour}"
    md = (out / "scorecard.md").read_text()
    assert md.startswith("# suite x\n") and f"| {SPEEDUP} |" in md
    assert "| quad | distance_to_min <= 0.001 | 50 steps | 3/3 | 100 |" in md and "| 2.00x |" in md
    assert "## Score over 2 workloads (median steps to target), pool: mysign + 2 tuned" in md
    assert "| mysign | 1/2 | 0.500 |" in md


def test_without_baselines_the_page_says_so_and_has_one_table(tmp_path):
    (tmp_path / "performance_profile.png").write_bytes(PNG_MAGIC)  # from an earlier write
    # no baseline ran every workload: no pool, no score table
    partial = {"adamw": {"quad": [300.0]}}
    assert pool_of("mine", theirs=partial) is None
    path = write(tmp_path, title="t", label="mine", results=RESULTS, pool=None)
    text = path.read_text()
    page = Tables(text)
    assert len(page.tables) == 1 and not page.images
    assert [row[-1] for row in page.tables[0][1:]] == ["-", "-"]
    assert NO_BASELINES in text and not (tmp_path / "performance_profile.png").exists()
    assert NO_BASELINES in (tmp_path / "scorecard.md").read_text()


def test_a_submission_named_as_a_baseline_is_scored_next_to_it(tmp_path):
    """optimizer=nadamw at its defaults is not the tuned nadamw baseline: both rows, and the
    tuned one is the per-workload speedup's reference too."""
    path = write(tmp_path, title="t", label="nadamw", results=RESULTS, pool=pool_of("nadamw"))
    workloads_table, scores = Tables(path.read_text()).tables[:2]
    assert {row[0] for row in scores[1:]} == {"nadamw", "nadamw (baseline)", "adamw (baseline)"}
    assert by_first_cell(scores)["nadamw"]["speedup vs nadamw (geometric mean)"] == "0.40x"
    assert by_first_cell(workloads_table)["quad"][SPEEDUP] == "2.00x"  # its 200 / 100


@pytest.mark.slow
@needs_chromium
def test_scorecard_renders_in_headless_chromium(tmp_path):
    path = write(tmp_path, title="suite c", label="mysign", results=RESULTS, pool=pool_of("mysign"))
    images, tables, text = rendered(Path(path))
    assert images == [["performance_profile.png", True, 750]]  # 7.5 in at 100 dpi
    assert tables == 2
    for shown in ("suite c", "quad", "mnist", "2.00x", "not reached", "0.500", "0.833"):
        assert shown in text, shown


def test_seconds_past_the_step_budget_are_not_reached():
    steps = {"mine": {"quad": [100.0, 300.0]}, "adamw (baseline)": {"quad": [260.0, 200.0]}}
    seconds = {"mine": {"quad": [1.0, 3.0]}, "adamw (baseline)": {"quad": [2.6, 2.0]}}
    assert pool.mask_past_budget(seconds, steps, {"quad": 250.0}) == {
        "mine": {"quad": [1.0, inf]},
        "adamw (baseline)": {"quad": [inf, 2.0]},
    }
    together = pool.with_baselines(
        {"mine": seconds["mine"]}, {"adamw": seconds["adamw (baseline)"]}, {"quad": 250.0},
        "mine", cut_by=steps,
    )  # fmt: skip
    assert together.budgets is None  # seconds have no budget of their own: no speed-up
    assert together.times["mine"] == {"quad": [1.0, inf]}


# Pools of suites read back from MLflow ------------------------------------------------------

DIGITS, MNIST = "logreg_digits", "mnist_mlp"  # budgets of 5 and 21 epochs here


@pytest.fixture(scope="module", autouse=True)
def known_targets(tmp_path_factory):
    """A targets table of these tests' own, so their budgets hold whatever a rebuild ships:
    logreg_digits val_loss <= 0.1 in 5 epochs, mnist_mlp val_accuracy >= 0.962 in 21."""
    import csv

    from optbench.schema.suite import targets_table
    from optbench.suite import baselines
    from optbench.suite.targets import write_table

    rows = dict(targets_table())
    rows[DIGITS] = {**rows[DIGITS], "target": "0.1", "budget": "5"}
    rows[MNIST] = {**rows[MNIST], "target": "0.962", "budget": "21"}
    table = write_table(rows, tmp_path_factory.mktemp("targets") / "targets.csv")
    shipped = table.parent / "baselines.csv"  # and the 4 baselines, 100 steps on every seed
    with shipped.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, baselines.FIELDS)
        writer.writeheader()
        for baseline in baselines.BASELINES:
            for workload in (DIGITS, MNIST):
                for seed in range(3):
                    writer.writerow({"workload": workload, "baseline": baseline, "seed": seed,
                                     "steps_to_target": 100.0})  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTBENCH_SUITE_TARGETS", str(table))
        patch.setattr(baselines, "table_path", lambda: shipped)
        yield table


def suite_in_store(uri: str, optimizer: str, suite_id: str, steps: dict[str, list[float]],
                   ruleset: str = "self_tuning", extra: tuple[str, ...] = ()) -> None:  # fmt: skip
    """A finished suite as optbench suite leaves it: a parent run (tag optbench.role=suite) and
    one child run per workload and seed, with the run's params (its config, flattened), its
    optbench.n_train tag and its steps to target (none logged: not reached)."""
    from mlflow.entities import Metric, Param, RunTag
    from omegaconf import OmegaConf

    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    mlflow = client(uri)
    experiment = mlflow.get_experiment_by_name("suite")
    exp = experiment.experiment_id if experiment else mlflow.create_experiment("suite")
    seeds = len(next(iter(steps.values())))
    note = f"optbench suite optimizer={optimizer} suite.seeds={seeds}"
    parent = mlflow.create_run(exp, tags={"optbench.role": "suite", "optbench.suite_id": suite_id,
                               "optbench.optimizer": optimizer, "optbench.ruleset": ruleset,
                               "mlflow.note.content": note})  # fmt: skip
    for workload, per_seed in steps.items():
        for seed, value in enumerate(per_seed):
            cfg = compose(workload, [f"optimizer={optimizer}", f"seed={seed}", *extra], None)
            params = flatten(OmegaConf.to_container(cfg, resolve=True))
            tags = {"mlflow.parentRunId": parent.info.run_id, "optbench.n_train": "9000"}
            child = mlflow.create_run(exp, tags=tags)
            key = "steps_to_target"
            metrics = [Metric(key, value, 0, 0)] if math.isfinite(value) else []
            mlflow.log_batch(
                child.info.run_id,
                metrics=metrics,
                params=[Param(k, v[:6000]) for k, v in params.items()],
                tags=[RunTag("optbench.optimizer", optimizer)],
            )
            mlflow.set_terminated(child.info.run_id)
    mlflow.set_terminated(parent.info.run_id)


@pytest.fixture(scope="module")
def two_suites(tmp_path_factory) -> str:
    """adam and lion on logreg_digits (5 epochs of ceil(9000 / 32) = 282 steps: 1,410) and
    mnist_mlp (21 epochs: 5,922), 3 seeds. lion ran with an older, longer budget of 30
    epochs: its mnist seeds at 6,000 steps are past today's. Then a second, later adam suite."""
    from optbench.schema import register_configs

    register_configs()
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    suite_in_store(
        uri, "adam", "s-adam", {DIGITS: [55.0, 60.0, 50.0], MNIST: [inf, 4230.0, 4512.0]}
    )
    lion = {DIGITS: [80.0, 80.0, 90.0], MNIST: [6000.0, 6000.0, 1410.0]}
    suite_in_store(uri, "lion", "s-lion", lion, extra=("trainer.max_iter=30",))
    suite_in_store(uri, "adam", "s-adam2", {DIGITS: [40.0, 40.0, 40.0], MNIST: [inf, inf, inf]})
    return uri


def test_from_store_scores_the_latest_suite_of_each_optimizer_in_one_pool(two_suites):
    together, suites = stored.from_store(two_suites)
    assert [s.suite_id for s in suites] == ["s-adam2", "s-lion"]  # the latest adam suite
    assert together.label == "2 suites (adam, lion) + 4 tuned baselines"
    assert together.budgets == {DIGITS: 5 * 282.0, MNIST: 21 * 282.0}
    assert together.times["adam"] == {DIGITS: [40.0] * 3, MNIST: [inf] * 3}
    assert together.times["lion"] == {DIGITS: [80.0, 80.0, 90.0], MNIST: [6000.0, 6000.0, 1410.0]}
    scored = together.scored()
    assert scored["lion"].times == {DIGITS: 80.0, MNIST: inf}  # 2 of 3 seeds past 5,922 steps
    assert set(scored) == {"adam", "lion", *(f"{b} (baseline)" for b in
                           ("adamw", "nadamw", "nesterov", "momentum"))}  # fmt: skip


def test_from_store_scores_the_named_suites(two_suites):
    together, _ = stored.from_store(two_suites, ["s-adam", "s-adam2"])
    assert list(together.times)[:2] == ["adam · s-adam", "adam · s-adam2"]
    assert together.times["adam · s-adam"][MNIST] == [inf, 4230.0, 4512.0]
    assert together.scored()["adam · s-adam"].times[MNIST] == 4512.0
    with pytest.raises(OptbenchError, match="no finished suite nope"):
        stored.from_store(two_suites, ["nope"])
    with pytest.raises(OptbenchError, match="no finished suite under the external_tuning"):
        stored.from_store(two_suites, None, "external_tuning")


@pytest.mark.slow
def test_suites_of_another_ruleset_or_target_are_refused(tmp_path):
    from optbench.schema import register_configs

    register_configs()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    suite_in_store(uri, "adam", "a", {DIGITS: [55.0]})
    suite_in_store(uri, "sgd", "b", {DIGITS: [55.0]}, ruleset="external_tuning")
    with pytest.raises(OptbenchError, match="rulesets external_tuning, self_tuning"):
        stored.from_store(uri, ["a", "b"])
    suite_in_store(uri, "lion", "c", {DIGITS: [30.0]}, extra=("dataset.target.value=0.05",))
    with pytest.raises(OptbenchError, match=r"targets \[0.05, 0.1\] \(the target now: 0.1\)"):
        stored.from_store(uri, ["a", "c"])
    suite_in_store(uri, "lion", "d", {MNIST: [100.0]})
    with pytest.raises(OptbenchError, match="no scored workload in common"):
        stored.from_store(uri, ["a", "d"])


def test_an_external_tuning_suite_counts_each_studys_fastest_trial(tmp_path):
    """Under external tuning a suite's children are the workloads' tuning sweeps and the trials
    (tag optbench.study) their children: study 0's trials 70 and 50 steps count 50, study 1's
    miss and 60 count 60."""
    from mlflow.entities import Metric, Param, RunTag
    from omegaconf import OmegaConf

    from optbench.schema import register_configs
    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    register_configs()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow = client(uri)
    exp = mlflow.create_experiment("suite")
    tags = {"optbench.role": "suite", "optbench.suite_id": "t", "optbench.optimizer": "adam",
            "optbench.ruleset": "external_tuning"}  # fmt: skip
    parent = mlflow.create_run(exp, tags=tags)
    sweep = mlflow.create_run(exp, tags={"mlflow.parentRunId": parent.info.run_id})
    mlflow.set_terminated(sweep.info.run_id)
    params = flatten(
        OmegaConf.to_container(compose(DIGITS, ["optimizer=adam"], None), resolve=True)
    )
    for study, trial, steps in [("0", 0, 70.0), ("0", 1, 50.0), ("1", 0, inf), ("1", 1, 60.0)]:
        run = mlflow.create_run(exp, tags={"mlflow.parentRunId": sweep.info.run_id})
        metrics = [Metric("steps_to_target", steps, 0, 0)] if math.isfinite(steps) else []
        mlflow.log_batch(
            run.info.run_id,
            metrics=metrics,
            params=[Param(k, v[:6000]) for k, v in params.items()],
            tags=[
                RunTag("optbench.study", study),
                RunTag("optbench.trial", str(trial)),
                RunTag("optbench.n_train", "9000"),
            ],
        )
        mlflow.set_terminated(run.info.run_id)
    mlflow.set_terminated(parent.info.run_id)
    together, (suite,) = stored.from_store(uri, None, "external_tuning")
    assert suite.steps == {DIGITS: [50.0, 60.0]} and together.budgets == {DIGITS: 5 * 282.0}
    assert together.scored()["adam"].times == {DIGITS: 55.0}
    with pytest.raises(OptbenchError, match="no finished suite under the self_tuning"):
        stored.from_store(uri)


def test_identify_picks_the_workload_whose_params_contradict_least():
    signatures = {"w1": {"dataset.name": "mnist", "model.hidden_sizes": "[128]"},
                  "w2": {"dataset.name": "mnist", "model.hidden_sizes": "[512, 256]"}}  # fmt: skip
    params = {"dataset.name": "mnist", "model.hidden_sizes": "[512, 256]", "optimizer.lr": "1"}
    assert stored.identify(params, signatures) == "w2"
    with pytest.raises(OptbenchError, match="equally"):
        stored.identify({"dataset.name": "mnist"}, signatures)


def test_every_shipped_workload_is_told_from_the_others_by_its_own_params():
    from omegaconf import OmegaConf

    from optbench.schema import register_configs
    from optbench.suite import workloads
    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    register_configs()
    names = workloads.names()
    signatures = stored.workload_signatures(names)
    for name in names:  # a run of it with another optimizer, seed and batch size
        cfg = compose(name, ["optimizer=sgd", "seed=4", "trainer.batch_size=48"], None)
        assert (
            stored.identify(flatten(OmegaConf.to_container(cfg, resolve=True)), signatures) == name
        )


def test_score_command_prints_one_table_for_the_pool(two_suites, tmp_path, capsys):
    import json

    from optbench.suite.cli import main

    out = tmp_path / "scores.json"
    assert main(["--score", "--uri", two_suites, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    text = " ".join(printed.split())
    assert "pool: 2 suites (adam, lion) + 4 tuned baselines" in text
    assert "suites: adam s-adam2 (self_tuning), lion s-lion (self_tuning)" in text
    (budget_row,) = [line for line in printed.splitlines() if "budget (steps)" in line]
    assert [cell.strip() for cell in budget_row.split("│")[1:-1]] == [
        "budget (steps)",
        "1,410",
        "5,922",
    ]
    saved = json.loads(out.read_text())
    assert saved["pool"] == "2 suites (adam, lion) + 4 tuned baselines"
    assert saved["scores"]["lion"]["median_steps"] == {DIGITS: 80.0, MNIST: None}
    assert main(["--score", "--uri", two_suites, "--suites", "nope"]) == 2
