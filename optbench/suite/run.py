"""The suite's run: every workload for one optimizer, seed after seed (or study after study),
as child runs of one MLflow parent run, then the scorecard (optbench/suite/scorecard.py): a
rich table, runs/reports/suite-<id>/index.html, and both logged on the parent run.

Settings of the suite itself (conf/suite/default.yaml): suite.seeds (3) from suite.first_seed
(0), suite.workloads (the scored ones), suite.ruleset
(self_tuning: the optimizer's own defaults, the median over seeds counts; external_tuning:
suite.seeds studies of suite.trials trials from the suite.search space, optbench/suite/
tuning.py), suite.baselines (shipped: score against optbench/suite/baselines.csv; rerun: also
re-run the baselines with their tuned settings here, to score seconds too). Every other
override goes to every run. Self-tuning runs are in this process, one after another."""

import time
import uuid
from typing import Any

from optbench import paths
from optbench import tags as tag
from optbench.errors import OptbenchError
from optbench.suite import workloads as wl
from optbench.suite.pool import Pool
from optbench.suite.result import WorkloadResult, final_metrics
from optbench.suite.settings import (
    Settings,
    check_search,
    compose,
    composed_workloads,
    parse_settings,
    split_settings,
)


def run(argv: list[str], config_dir: str | None, scored: bool = True) -> list[WorkloadResult]:
    from optbench import console
    from optbench.schema import register_configs
    from optbench.tracking import MlflowWriter, resolve_uri
    from optbench.tracking.env import OpenSweep, export, withdraw
    from optbench.tracking.provenance import optimizer_label
    from optbench.tracking.sweep import close_sweep

    ours, overrides = split_settings(argv)
    settings = parse_settings(ours, config_dir)
    register_configs()
    workloads = composed_workloads(settings.names, overrides, config_dir)
    first = workloads[settings.names[0]][0]
    check_search(settings, overrides, config_dir)
    uri = resolve_uri(first.tracking.uri)
    suite_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    label = optimizer_label(first.optimizer)
    tags = {tag.ROLE: tag.ROLE_SUITE, tag.SUITE_ID: suite_id, tag.OPTIMIZER: label,
            tag.RULESET: settings.ruleset, tag.SUITE_SEEDS: ",".join(map(str, settings.seeds)),
            tag.NOTE: "optbench suite " + " ".join(argv)}  # fmt: skip
    parent, _ = MlflowWriter(uri).start("suite", f"suite {suite_id} · {label}", tags, params={})
    sweep = OpenSweep(uri, parent, suite_id)
    export(sweep)
    from optbench.suite import scorecard

    title = f"optbench suite · {label} · {settings.ruleset}, {len(settings.seeds)} " + (
        "studies" if settings.ruleset == "external_tuning" else "seeds"
    )
    results: list[WorkloadResult] = []
    reruns: dict[str, list[WorkloadResult]] = {}
    status = "FINISHED"
    try:
        for name in settings.names:
            result = WorkloadResult(workloads[name][1])
            results.append(result)
            if settings.ruleset == "external_tuning":
                _tune(result, overrides, config_dir, settings, uri, suite_id)
            else:
                _seeds(result, overrides, config_dir, settings.seeds)
        reruns = (
            rerun_baselines(workloads, overrides, config_dir, settings.seeds)
            if settings.baselines == "rerun"
            else {}
        )
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except BaseException:
        status = "FAILED"
        raise
    finally:
        close_sweep(sweep, status)
        withdraw()
        done = [r for r in results if r.steps]  # a workload cut short has no seeds yet
        if done and status != "FINISHED":  # an interrupted suite still leaves its table
            text = scorecard.markdown(title=title, label=label, results=done, pool=None)
            MlflowWriter(uri).text(parent, text, "scorecard.md")
    console.print_table(title, scorecard.HEADER, [r.row() for r in results])
    if scored:
        from optbench.report.cli import log_report
        from optbench.suite.pool import budgets_of

        mine = [r for r in results if r.workload.group == "scored"]  # toys never score
        budgets = budgets_of({r.workload.name: workloads[r.workload.name] for r in mine})
        pool = _print_scores(mine, label, reruns, budgets) if mine else None
        if not mine:
            console.console.print(scorecard.TOY_ONLY, highlight=False)
        folder = paths.reports(f"suite-{suite_id}")
        page = scorecard.write(folder, title=title, label=label, results=results, pool=pool)
        log_report(uri, parent, folder)
        console.console.print(f"scorecard: {page.absolute()}", highlight=False)
    return results


def rerun_baselines(
    workloads: dict[str, tuple[Any, wl.Workload]],
    overrides: list[str],
    config_dir: str | None,
    seeds: list[int],
) -> dict[str, list[WorkloadResult]]:
    """suite.baselines=rerun: every baseline as the table was built (its tuned settings,
    warm-up and cosine decay over the workload's schedule), on this machine and the same
    seeds, so that seconds score too. Scored workloads only: toys have no baselines."""
    from optbench.suite import baselines

    shipped = baselines.settings_of(baselines.load())
    theirs = [o for o in overrides if not o.lstrip("+~").startswith(("optimizer", "schedule"))]
    reruns: dict[str, list[WorkloadResult]] = {}
    for baseline, extra in baselines.BASELINES.items():
        reruns[baseline] = []
        for name, (_, workload) in workloads.items():
            if workload.group != "scored":
                continue
            result = WorkloadResult(workload)
            tuned = shipped.get(baseline, {}).get(name, "").split()
            whole = baselines.schedule_overrides(workload.schedule)
            _seeds(result, [*theirs, *extra, *tuned, *whole], config_dir, seeds)
            reruns[baseline].append(result)
    return reruns


def _seeds(
    result: WorkloadResult, overrides: list[str], config_dir: str | None, seeds: list[int]
) -> None:
    """Self-tuning: the optimizer's defaults, one run per seed, in this process."""
    from optbench import console

    name = result.workload.name
    for seed in seeds:
        done = one_run(name, [*overrides, f"seed={seed}"], config_dir)
        result.failed += done is None
        result.add(final_metrics(done))
        console.console.print(
            f"  {name} seed {seed}: steps to target {result.steps[-1]:,.0f}", highlight=False
        )


def one_run(name: str, overrides: list[str], config_dir: str | None) -> Any:
    """One tracked run of workload ``name`` in this process (a child of the open suite run);
    its RunResult, or None when it failed (the error is printed)."""
    from optbench import console
    from optbench.runner import run

    cfg = compose(name, [*overrides, "trainer.progress=false"], config_dir)
    try:
        return run(cfg)
    except OptbenchError as exc:
        console.print_error(str(exc), f" in workload {name}, seed {cfg.seed}")
        return None


def _tune(
    result: WorkloadResult, overrides: list[str], config_dir: str | None, settings: Settings,
    uri: str, suite_id: str,
) -> None:  # fmt: skip
    """External tuning: the workload's tuning sweep; each study's fastest trial counts."""
    from optbench import console
    from optbench.suite import tuning

    name = result.workload.name
    folder = paths.suite() / suite_id / name
    try:
        studies = tuning.tune(
            result.workload, [*overrides, f"hydra.sweeper.seed={settings.seeds[0]}"],
            config_dir, settings.seeds, settings.tuning, uri, folder,
        )  # fmt: skip
    except OptbenchError as exc:
        console.print_error(str(exc))
        result.failed += len(settings.seeds)
        for _ in settings.seeds:
            result.add({})
        return
    keys = tuning.search_keys(folder)
    for study, (metrics, params) in enumerate(studies):
        result.add(metrics, tuning.tuned_settings(params, keys))
        console.console.print(
            f"  {name} study {study}: fastest of {settings.tuning.trials} trials "
            f"{result.steps[-1]:,.0f} steps ({result.settings[-1]})",
            highlight=False,
        )


COLUMNS = {"steps": "steps_to_target", "gradients": "gradients_to_target",
           "seconds": "seconds_to_target"}  # fmt: skip


def _print_scores(
    results: list[WorkloadResult],
    label: str,
    reruns: dict[str, list[WorkloadResult]],
    budgets: dict[str, float],
) -> Pool | None:
    """Print the score tables, each scoring the submission and the baselines in one pool
    (named above the table): on steps (the shipped baselines, or those re-run here), on
    gradient evaluations where the submission's differ (SAM: two a step; the budget then
    counts gradient evaluations, as AlgoPerf's counts time), and with re-run baselines on this
    machine's seconds (no budget in seconds, so no speed-up; a seed past the step budget is
    not reached). Returns the pool on steps (None without baselines) for the scorecard page."""
    from optbench import console
    from optbench.suite import baselines, pool
    from optbench.suite.scorecard import NO_BASELINES, SCORE_HEADER, score_rows, score_title

    def per_seed(rs: list[WorkloadResult], what: str) -> dict[str, list[float]]:
        return {r.workload.name: list(getattr(r, what)) for r in rs}

    kinds = ["steps"]
    if any(r.gradients_per_step != 1 for r in results):
        kinds.append("gradients")
    if reruns:
        kinds.append("seconds")
    where = "re-run here" if reruns else "shipped"
    steps_of = {label: per_seed(results, "steps")}  # what cuts the seconds at the budget
    steps_of.update({pool.baseline_name(b): per_seed(rs, "steps") for b, rs in reruns.items()})
    pools: dict[str, Pool | None] = {}
    for what in kinds:
        theirs = (
            {b: per_seed(rs, what) for b, rs in reruns.items()}
            if reruns
            else baselines.steps_by_baseline(baselines.load(), COLUMNS[what])
        )
        mine = {label: per_seed(results, what)}
        cut_by = steps_of if what == "seconds" else None
        together = pools[what] = pool.with_baselines(mine, theirs, budgets, label, cut_by)
        if together is None:
            console.console.print(NO_BASELINES, highlight=False)
            break
        together.label += f" ({where})"
        console.print_table(
            score_title(together, len(results), what), SCORE_HEADER, score_rows(together.scored())
        )
    return pools["steps"]  # computed first, whatever broke the loop
