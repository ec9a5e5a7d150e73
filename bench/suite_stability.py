"""Does the suite's ranking survive another set of seeds? The shipped optimizers' per-seed
results (bench/results/suite_scorecard.json, written by bench/suite_scorecard.py with
--seeds 6) and the 4 tuned baselines (optbench/suite/baselines.csv, 6 seeds) are split into
two disjoint seed sets, seeds 0-2 and seeds 3-5; each set is scored as its own joint pool
(optbench.suite.score.score_pool: AlgoPerf score on median steps to target, the budget
cutting seeds past it), and the two rankings are compared by Kendall's tau-b (ties counted
as SciPy's kendalltau counts them). Goal: tau >= 0.7. Also per set: the rank of every
optimizer, and how many pairs keep their order.

No training: this re-scores what the scorecard bench measured, so both describe the same runs.

Usage: python bench/suite_stability.py [--split 3]   # seeds [0, split) vs [split, 2 split)
Writes bench/results/suite_stability.md and .json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from results import RESULTS, Result
from suite_scorecard import _number

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SCORECARD_JSON = RESULTS / "suite_scorecard.json"
GOAL = 0.7


def per_seed_pool(saved: dict) -> tuple[dict, dict[str, float]]:
    """Every optimizer's and baseline's per-seed steps (the scorecard's pool, before it is
    scored), and the budgets in steps."""
    from optbench.suite import baselines, pool

    per_seed = {n: {w: [_number(t) for t in ts] for w, ts in row.items()}
                for n, row in saved["per_seed"].items()}  # fmt: skip
    budgets = {w: float(b) for w, b in saved["budgets"].items()}
    shipped = baselines.steps_by_baseline(baselines.load())
    return pool.with_baselines(per_seed, shipped, budgets, "stability").times, budgets


def rank(scores: dict[str, float]) -> dict[str, int]:
    """1 = best; ties share the better rank."""
    ordered = sorted(scores.values(), reverse=True)
    return {name: 1 + ordered.index(s) for name, s in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=int, default=3, help="seeds per set (default 3)")
    args = parser.parse_args()
    from scipy.stats import kendalltau

    from optbench.suite.pool import REFERENCE, baseline_name
    from optbench.suite.score import score_pool

    saved = json.loads(SCORECARD_JSON.read_text())
    per_seed, budgets = per_seed_pool(saved)
    k = args.split
    short = {n: len(ts) for n, row in per_seed.items() for ts in row.values() if len(ts) < 2 * k}
    if short:
        sys.exit(f"needs {2 * k} seeds per optimizer; fewer in {short}: run "
                 f"bench/suite_scorecard.py --seeds {2 * k} (and the rebuild with as many)")  # fmt: skip
    sets = {"A": range(0, k), "B": range(k, 2 * k)}
    scores: dict[str, dict[str, float]] = {}
    for label, seeds in sets.items():
        part = {n: {w: [ts[s] for s in seeds] for w, ts in row.items()}
                for n, row in per_seed.items()}  # fmt: skip
        scored = score_pool(part, budgets, baseline_name(REFERENCE))
        scores[label] = {n: s.score.point for n, s in scored.items()}
    names = list(per_seed)
    a = [scores["A"][n] for n in names]
    b = [scores["B"][n] for n in names]
    tau = float(kendalltau(a, b).statistic)
    pairs = list(itertools.combinations(names, 2))
    kept = sum((scores["A"][x] - scores["A"][y]) * (scores["B"][x] - scores["B"][y]) > 0
               for x, y in pairs)  # fmt: skip
    ranks = {label: rank(s) for label, s in scores.items()}
    out = Result("suite_stability")
    out.print(
        f"{len(names)} optimizers ({len(names) - 4} shipped at their defaults + 4 tuned "
        f"baselines) on {len(budgets)} scored workloads; seed set A = seeds 0-{k - 1}, "
        f"B = seeds {k}-{2 * k - 1}, each scored as its own joint pool (AlgoPerf score on "
        "median steps to target, a seed past the budget not reached)"
    )
    out.print(f"per-seed steps: {SCORECARD_JSON.name} (measured {saved.get('date', '?')}) and "
              "optbench/suite/baselines.csv")  # fmt: skip
    out.print("")
    out.print(f"{'optimizer':<24}{'score A':>9}{'rank A':>8}{'score B':>9}{'rank B':>8}")
    for n in sorted(names, key=lambda n: -scores["A"][n]):
        out.print(f"{n[:24]:<24}{scores['A'][n]:>9.3f}{ranks['A'][n]:>8}"
                  f"{scores['B'][n]:>9.3f}{ranks['B'][n]:>8}")  # fmt: skip
    out.print("")
    verdict = "meets" if tau >= GOAL else "misses"
    out.print(f"Kendall tau-b between the two rankings: {tau:.3f} ({verdict} the goal >= {GOAL})")
    out.print(f"pairs in the same strict order in both sets: {kept} of {len(pairs)}")
    out.save()
    summary = {"split": k, "tau": tau, "pairs_kept": kept, "pairs": len(pairs),
               "scores": scores, "ranks": ranks}  # fmt: skip
    (RESULTS / "suite_stability.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
