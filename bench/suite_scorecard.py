"""The scorecard of optbench's shipped optimizers on the workload suite (self-tuning: each at
its defaults, N seeds), all of them and the 4 tuned baselines scored together in ONE pool: per
optimizer the workloads reached, the AlgoPerf score (tau in [1, 4]) and the speed-up over the
tuned NAdamW on median steps to target (AlgoPerf's rule: a miss counts as the budget + 1, the
geometric mean runs over every workload), each with its 95% bootstrap interval over seeds and
the number of workloads the speed-up rests on; and per workload the median steps. A seed past
the workload's budget counts as not reached, baselines included. README quotes the file this
writes, bench/results/suite_scorecard.md.

Real pieces: `optbench suite` itself (optbench.suite.run.run, in this process), every shipped
workload on the real data under $OPTBENCH_DATA_DIR, a fresh SQLite store, the baselines
table optbench/suite/baselines.csv; the scoring is optbench.suite.score.score_pool.

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/suite_scorecard.py [--seeds 6]
       [--optimizers sgd,momentum,adam,...] [--json PART.json]
       python bench/suite_scorecard.py --rescore   # no training: re-score the saved results
       python bench/suite_scorecard.py --merge A.json B.json   # parts run side by side
Only the scored workloads run (the toy group never scores). bench/suite_stability.py splits
the same per-seed results into two disjoint seed sets.
Per-seed results are saved per optimizer and workload in bench/results/suite_scorecard.json
with a digest of the workload's rows in the targets and baselines tables, so the scorecard can
be built in batches (--workloads, --optimizers) and a rebuilt workload's old results are
dropped; --rescore only re-scores what is saved there. A workload an optimizer cannot run at
all (optbench suite refuses it before any run: SAM on the MobileNetV2 head) is left out of its
suite and counts as not reached on every seed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

from results import Result, _commit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHIPPED = ("sgd,adam,lion,schedule_free_adamw,momentum,nadam,rmsprop,sam,muon,adamw,nesterov,"
           "adagrad,adamax,adafactor,lamb")  # fmt: skip
STORE_JSON = Path(__file__).parent / "results" / "suite_scorecard.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--optimizers", default=SHIPPED)
    parser.add_argument("--workloads", help="only these scored workloads (a comma list)")
    parser.add_argument(
        "--json",
        type=Path,
        default=STORE_JSON,
        help="where the per-seed results go (a part, for runs side by side; --merge joins them)",
    )
    parser.add_argument("--merge", type=Path, nargs="+", help="join these parts, re-score")
    parser.add_argument(
        "--rescore", action="store_true", help="no training: re-score the saved per-seed results"
    )
    args = parser.parse_args()
    if args.merge:
        parts = [json.loads(p.read_text()) for p in args.merge]
        now = _digests()
        joined = {**parts[0], "digests": now}
        for key in ("measured", "refused"):
            joined[key] = {k: v for part in parts for k, v in part.get(key, {}).items()}
        joined["per_seed"] = {}
        for part in parts:
            for name, row in _current(part, now).items():
                joined["per_seed"].setdefault(name, {}).update(row)
        write(joined)
        return
    kept = json.loads(args.json.read_text()) if args.json.is_file() else {}
    if args.rescore:
        if not kept.get("per_seed"):
            sys.exit(f"no per-seed results saved in {args.json} to re-score")
        write(kept)
        return
    same = kept.get("seeds") == args.seeds
    now = _digests()
    saved = {
        "seeds": args.seeds,
        "date": datetime.date.today().isoformat(),
        "digests": now,
        "per_seed": _current(kept, now) if same else {},
        "measured": kept.get("measured", {}) if same else {},
        "refused": kept.get("refused", {}) if same else {},
    }
    folder = Path(tempfile.mkdtemp(prefix="optbench-scorecard-"))
    os.chdir(folder)  # runs/ (reports, feature cache) of its own
    store = f"sqlite:///{folder / 'mlflow.db'}"
    from optbench.suite import workloads
    from optbench.suite.run import run

    wanted = args.workloads.split(",") if args.workloads else workloads.scored()
    for name in args.optimizers.split(","):
        runnable, refused = _runnable(name, wanted)
        done = saved["per_seed"].setdefault(name, {})
        todo = [w for w in runnable if w not in done]
        results = run(
            [f"optimizer={name}", f"suite.seeds={args.seeds}", f"tracking.uri={store}",
             f"suite.workloads=[{','.join(todo)}]"],
            None,
            scored=False,
        ) if todo else []  # fmt: skip
        done.update({r.workload.name: r.steps for r in results})
        done.update({w: [math.inf] * args.seeds for w in refused})
        saved["refused"][name] = sorted(set(saved["refused"].get(name, [])) | set(refused))
        saved["measured"][name] = f"{datetime.date.today()}, commit {_commit()}"
        _save(saved, args.json)  # after each optimizer: a stopped run keeps those done
    write(saved, args.json)


def _current(kept: dict, now: dict[str, str]) -> dict:
    """The saved per-seed results whose workload's rows in the tables have the digests ``now``
    (today's)."""
    then = kept.get("digests", {})
    return {
        name: {w: ts for w, ts in row.items() if then.get(w) == now.get(w)}
        for name, row in kept.get("per_seed", {}).items()
    }


def _save(saved: dict, path: Path) -> None:
    text = json.dumps(saved, indent=1).replace("Infinity", '"inf"')
    flat = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: f"[{' '.join(m[1].split())}]", text)
    path.write_text(flat + "\n")  # a list of numbers on one line


def write(saved: dict, path: Path = STORE_JSON) -> None:
    """Score every saved optimizer and the shipped baselines in one pool; print and save the
    scorecard (the .md) and the scores with the per-seed results (the .json)."""
    from optbench.suite import baselines, pool, scorecard

    per_seed = {n: {w: [_number(t) for t in ts] for w, ts in row.items()}
                for n, row in saved["per_seed"].items()}  # fmt: skip
    from optbench.suite.workloads import scored as scored_workloads

    workloads = scored_workloads()
    missing = {n: sorted(set(workloads) - set(row)) for n, row in per_seed.items()}
    missing = {n: m for n, m in missing.items() if m}
    if missing:
        _save(saved, path)
        sys.exit(f"not scored yet: missing per-seed results {missing} (saved to {path})")
    saved["budgets"] = _budgets()
    budgets = {w: float(saved["budgets"][w]) for w in workloads}
    shipped = baselines.steps_by_baseline(baselines.load())
    n = len(per_seed)
    together = pool.with_baselines(per_seed, shipped, budgets, f"{n} optimizers")
    if together is None:
        sys.exit("no baseline ran all these workloads: optbench suite --rebuild-baselines")
    scored = together.scored()
    out = Result("suite_scorecard")
    out.print(
        f"optbench suite, self-tuning (defaults), {saved['seeds']} seeds; one pool: "
        f"{together.label} (the shipped table), all scored together on median steps to target; "
        "a seed past the workload's budget counts as not reached"
    )
    out.print(
        "vs nadamw: speed-up over the tuned NAdamW as AlgoPerf computes it (a miss counts as "
        f"the budget + 1 step; geometric mean over all {len(workloads)} workloads); on: the "
        "workloads it rests on (reached by the optimizer or NAdamW; the rest are 1x)"
    )
    out.print(
        f"[..]: {scorecard.INTERVAL} over seeds, percentile bootstrap ({_resamples()} "
        "resamples of every optimizer's seeds per workload, fixed RNG seed, pool rescored each "
        "time)"
    )
    when = sorted(set(saved.get("measured", {}).values()))
    out.print(f"per-seed steps measured {'; '.join(when) or '(not recorded)'}; re-scored here")
    out.print(
        f"{'optimizer':<22}{'reached':>8}{'score':>8}  {'[interval]':<16}"
        f"{'vs nadamw':>10}  {'[interval]':<16}{'on':>4}"
    )
    for name, s in scored.items():
        speedup = s.speedup
        vs = "-" if speedup is None else f"{speedup.point:.2f}x"
        vs_interval = scorecard.interval_cell(speedup, ".2f")
        score_interval = scorecard.interval_cell(s.score, ".3f")
        out.print(
            f"{name[:22]:<22}{f'{s.reached}/{len(workloads)}':>8}{s.score.point:>8.3f}  "
            f"{score_interval:<16}{vs:>10}  {vs_interval:<16}{f'{s.rests_on}/{len(workloads)}':>4}"
        )
    for name, refused in saved.get("refused", {}).items():
        if refused:
            out.print(f"{name}: cannot run {', '.join(sorted(refused))} (optbench suite refuses "
                      "them before any run), counted as not reached")  # fmt: skip
    out.print("")
    out.print("median steps to target per workload (- : not reached on most seeds within budget)")
    short = [w.replace("ill_conditioned_", "ill_").replace("_mlp", "") for w in workloads]
    out.print(f"{'':<22}" + "".join(f"{c[:12]:>13}" for c in short))
    for name, s in scored.items():
        out.print(f"{name[:22]:<22}" + "".join(f"{_cell(s.times[w]):>13}" for w in workloads))
    out.print(f"{'budget (steps)':<22}" + "".join(f"{_cell(budgets[w]):>13}" for w in workloads))
    out.save()
    _save({**saved, "pool": json.loads(pool.as_json(together))}, path)


def _runnable(name: str, wanted: list[str]) -> tuple[list[str], dict[str, str]]:
    """The workloads optimizer ``name`` can run, and why each other one cannot. optbench suite
    refuses a suite with any workload it cannot run, before any run (SAM and Muon have no NumPy
    reference for the 2-D functions), so those are left out of its suite here and count as
    not reached on every seed."""
    from optbench.errors import OptbenchError
    from optbench.schema import register_configs
    from optbench.suite.settings import composed_workloads

    register_configs()
    runnable, refused = [], {}
    for workload in wanted:
        try:
            composed_workloads([workload], [f"optimizer={name}"], None)
            runnable.append(workload)
        except OptbenchError as exc:
            refused[workload] = str(exc)
    return runnable, refused


def _cell(steps: float) -> str:
    return "-" if math.isinf(steps) else f"{steps:,.0f}"


def _number(value: float | str | None) -> float:
    """A saved time: a number, or "inf" / null for a seed that did not reach the target."""
    return math.inf if value is None or value == "inf" else float(value)


def _resamples() -> int:
    from optbench.suite.score import RESAMPLES

    return RESAMPLES


def _budgets() -> dict[str, float]:
    """Every workload's budget in optimizer steps, from its config and its data."""
    from optbench.schema import register_configs
    from optbench.suite import pool, workloads
    from optbench.suite.settings import compose

    register_configs()
    configs = {name: compose(name, [], None) for name in workloads.scored()}
    return pool.budgets_of({n: (cfg, workloads.of_config(n, cfg)) for n, cfg in configs.items()})


def _digests() -> dict[str, str]:
    """Per scored workload, a digest of its rows in the targets and baselines tables: results
    measured against other rows are void (a rebuild moved the target or the budget)."""
    import hashlib

    from optbench.schema.suite import targets_table
    from optbench.suite import baselines
    from optbench.suite.workloads import scored

    rows = baselines.load()
    out = {}
    for w in scored():
        text = repr(targets_table()[w]) + repr([r for r in rows if r["workload"] == w])
        out[w] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


if __name__ == "__main__":
    main()
