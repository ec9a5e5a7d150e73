"""Suites read back from an MLflow store, for ``optbench suite --score``: the suite parent runs
(tag optbench.role=suite), their child runs' steps to target, each run's workload told by its
params (``identify``), and the chosen suites scored in one pool with the shipped baselines
(``from_store``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optbench import tags as tag
from optbench.errors import OptbenchError
from optbench.suite import workloads as wl
from optbench.suite.pool import Pool, budget_steps, with_baselines


@dataclass
class Suite:
    """One finished suite from the store: per workload its per-seed (or per-study) steps to
    target, and what its runs had: the optimizer steps per unit of the budget and the target."""

    suite_id: str
    optimizer: str
    ruleset: str
    steps: dict[str, list[float]]
    steps_per_unit: dict[str, float]
    targets: dict[str, float]


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def suite_parents(client: Any) -> list[Any]:
    """Every finished suite parent run (tag optbench.role=suite) in the experiment ``suite``,
    newest first."""
    experiment = client.get_experiment_by_name("suite")
    if experiment is None:
        return []
    return list(
        client.search_runs(
            [experiment.experiment_id],
            tag.where(tag.ROLE, tag.ROLE_SUITE) + " and attributes.status = 'FINISHED'",
            max_results=50_000,
            order_by=["attributes.start_time DESC"],
        )
    )


def pick(parents: list[Any], suite_ids: list[str] | None, ruleset: str | None) -> list[Any]:
    """The suites named by suite id (or parent run id), else the latest finished suite of each
    optimizer under ``ruleset``. AlgoPerf scores each ruleset on its own, so one pool never
    mixes them."""
    if suite_ids:
        by_id = {p.info.run_id: p for p in parents}
        by_id.update({p.data.tags.get(tag.SUITE_ID, ""): p for p in parents})
        missing = [s for s in suite_ids if s not in by_id]
        if missing:
            latest = ", ".join(p.data.tags.get(tag.SUITE_ID, "?") for p in parents[:5])
            raise OptbenchError(
                f"no finished suite {', '.join(missing)} in the store (the latest: {latest or '-'})"
            )
        chosen = [by_id[s] for s in dict.fromkeys(suite_ids)]
    else:
        latest: dict[str, Any] = {}
        for parent in parents:  # newest first
            if _ruleset(parent) == (ruleset or "self_tuning"):
                latest.setdefault(parent.data.tags.get(tag.OPTIMIZER, "?"), parent)
        chosen = [latest[name] for name in sorted(latest)]
    rulesets = {_ruleset(p) for p in chosen}
    if len(rulesets) > 1 or (ruleset and rulesets - {ruleset}):
        raise OptbenchError(
            f"the suites are of rulesets {', '.join(sorted(rulesets))}: AlgoPerf scores each "
            "ruleset in a pool of its own; pick suites of one"
        )
    return chosen


def _ruleset(parent: Any) -> str:
    return parent.data.tags.get(tag.RULESET, "self_tuning")


def _children(client: Any, parent: Any) -> list[Any]:
    """A run's child runs, oldest first."""
    runs = client.search_runs(
        [parent.info.experiment_id],
        tag.where(tag.PARENT_RUN_ID, parent.info.run_id),
        max_results=50_000,
    )
    return sorted(runs, key=lambda r: r.info.start_time)


def _steps_of(run: Any) -> float:
    """A run's steps to target; inf for a run that failed or never reached it."""
    if run.info.status != "FINISHED":
        return math.inf
    return wl.steps_to_target(dict(run.data.metrics))


def _seeds_of(parent: Any) -> int:
    """How many seeds the suite ran: its tag, else suite.seeds of its command line (its
    parent's note, in suites from before the tag), 3 by default."""
    if parent.data.tags.get(tag.SUITE_SEEDS):
        return len(parent.data.tags[tag.SUITE_SEEDS].split(","))
    for word in parent.data.tags.get(tag.NOTE, "").split():
        if word.startswith("suite.seeds="):
            return int(word.split("=", 1)[1])
    return 3


def workload_signatures(names: list[str]) -> dict[str, dict[str, str]]:
    """Per workload, the run params that define its problem (its dataset, model and batch
    size), as a run logs them: what a suite's child run is matched against. The target, the
    tolerance and the budget are left out (a rebuild moves them, the workload stays), and so is
    the optimizer (each suite brings its own)."""
    from omegaconf import OmegaConf

    from optbench.suite.settings import compose
    from optbench.tracking.run import flatten

    moving = ("dataset.target.value", "dataset.tolerance", "dataset.data_dir")
    signatures = {}
    for name in names:
        params = flatten(OmegaConf.to_container(compose(name, [], None), resolve=True))
        signatures[name] = {
            k: v
            for k, v in params.items()
            if (k.startswith(("dataset.", "model.")) or k == "trainer.batch_size")
            and k not in moving
        }
    return signatures


def identify(params: Mapping[str, str], signatures: Mapping[str, Mapping[str, str]]) -> str:
    """The workload whose signature the run's params contradict least (none, unless the suite
    overrode part of the problem for every workload alike); an error on a tie."""
    wrong = {n: sum(params.get(k) != v for k, v in sig.items()) for n, sig in signatures.items()}
    fewest = min(wrong.values())
    found = [n for n, w in wrong.items() if w == fewest]
    if len(found) != 1:
        raise OptbenchError(f"a suite's run matches the workloads {', '.join(found)} equally")
    return found[0]


def _run_facts(run: Any, unit: str) -> tuple[float, float]:
    """What a run had: optimizer steps per unit of the budget (1 on a 2-D function, else
    ceil(its tag optbench.n_train / its trainer.batch_size)) and its target."""
    params, tags = run.data.params, run.data.tags
    target = float(params.get("dataset.target.value", params.get("dataset.tolerance", "nan")))
    if unit == "steps":
        return 1.0, target
    n_train = int(tags[tag.N_TRAIN])
    batch = params.get("trainer.batch_size", "auto")
    size = n_train if batch == "full" else 32 if batch == "auto" else int(batch)
    return float(math.ceil(n_train / size)), target


def read_suite(
    client: Any, parent: Any, signatures: Mapping[str, Mapping[str, str]], units: Mapping[str, str]
) -> Suite:
    """One suite's per-seed steps to target from its child runs. Self-tuning: each child is one
    workload and seed, the submission's first (suite.baselines=rerun adds the baselines'
    after them). External tuning: each child that has children is a workload's tuning sweep,
    whose trials (tag optbench.study) are its grandchildren; each study counts its fastest."""
    tags = parent.data.tags
    ruleset, seeds = _ruleset(parent), _seeds_of(parent)
    steps: dict[str, list[float]] = {}
    facts: dict[str, set[tuple[float, float]]] = {}
    for child in _children(client, parent):
        if ruleset == "external_tuning":
            trials = _children(client, child)
            if not trials:
                continue  # a re-run baseline
            workload = identify(trials[0].data.params, signatures)
            studies: dict[str, float] = {}
            for trial in trials:
                study = trial.data.tags.get(tag.STUDY, "")
                studies[study] = min(studies.get(study, math.inf), _steps_of(trial))
                facts.setdefault(workload, set()).add(_run_facts(trial, units[workload]))
            steps[workload] = [studies[s] for s in sorted(studies)]
            continue
        if not child.data.params:
            continue  # failed before it logged its config
        workload = identify(child.data.params, signatures)
        if len(steps.get(workload, [])) < seeds:
            steps.setdefault(workload, []).append(_steps_of(child))
            facts.setdefault(workload, set()).add(_run_facts(child, units[workload]))
    for workload, seen in facts.items():
        if len(seen) > 1:
            raise OptbenchError(
                f"suite {tags.get(tag.SUITE_ID)}: the runs of {workload} had different "
                f"steps per epoch or targets {sorted(seen)}"
            )
    return Suite(
        tags.get(tag.SUITE_ID, parent.info.run_id),
        tags.get(tag.OPTIMIZER, "?"),
        ruleset,
        steps,
        {w: next(iter(seen))[0] for w, seen in facts.items()},
        {w: next(iter(seen))[1] for w, seen in facts.items()},
    )


def from_store(
    uri: str, suite_ids: list[str] | None = None, ruleset: str | None = None
) -> tuple[Pool, list[Suite]]:
    """The chosen suites and the shipped baselines in one pool, on the workloads every chosen
    suite ran, each with its budget as configured now, in steps (the runs' own steps per
    epoch): a seed past it is not reached, whatever budget it ran with. Suites whose runs had
    another target, or another number of steps per epoch (a batch-size override), answer
    another question and are refused."""
    from optbench.schema import register_configs
    from optbench.suite import baselines
    from optbench.suite.settings import compose

    register_configs()
    client = _client(uri)
    parents = pick(suite_parents(client), suite_ids, ruleset)
    if not parents:
        raise OptbenchError(
            f"no finished suite under the {ruleset or 'self_tuning'} ruleset in {uri} "
            "(experiment 'suite'): run optbench suite first, or name suites with --suites"
        )
    names = wl.names()
    current = {n: wl.of_config(n, compose(n, [], None)) for n in names}
    units = {n: w.unit for n, w in current.items()}
    suites = [read_suite(client, p, workload_signatures(names), units) for p in parents]
    scored = wl.scored()  # the toy group never enters a pool
    shared = [n for n in scored if all(n in s.steps for s in suites)]
    if not shared:
        raise OptbenchError("the chosen suites have no scored workload in common")
    budgets: dict[str, float] = {}
    for n in shared:
        per_unit = {s.steps_per_unit[n] for s in suites}
        targets = {s.targets[n] for s in suites}
        if len(per_unit) > 1 or targets != {current[n].value}:
            raise OptbenchError(
                f"the chosen suites ran {n} with steps per epoch {sorted(per_unit)} and targets "
                f"{sorted(targets)} (the target now: {current[n].value:g}): their times answer "
                "different questions"
            )
        budgets[n] = budget_steps(current[n], per_unit.pop())
    label_of = _labels(suites)
    times = {label_of[s.suite_id]: {n: s.steps[n] for n in shared} for s in suites}
    what = f"{len(suites)} suite{'s' * (len(suites) != 1)} ({', '.join(times)})"
    shipped = baselines.steps_by_baseline(baselines.load())
    pool = with_baselines(times, shipped, budgets, what) or Pool(what, times, budgets)
    return pool, suites


def _labels(suites: list[Suite]) -> dict[str, str]:
    """Row names: the optimizer, with the suite id where two suites share one."""
    counts: dict[str, int] = {}
    for s in suites:
        counts[s.optimizer] = counts.get(s.optimizer, 0) + 1
    return {
        s.suite_id: s.optimizer if counts[s.optimizer] == 1 else f"{s.optimizer} · {s.suite_id}"
        for s in suites
    }
