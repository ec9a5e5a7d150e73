"""Equal-budget tuning: optbench's Hydra sweeper around Optuna (``hydra/sweeper=optbench_tune``,
chosen by ``hparams_search=lr``).

Each combination of the command line's discrete sweeps (``optimizer=sgd,adam model=...``) is
one *study* with its own Optuna study and exactly ``n_trials`` trials: every optimizer gets the
same budget. The search space is ``hydra.sweeper.params`` (plus command-line ``interval(...)``
overrides) in Hydra's sweep syntax; a key a study's config lacks (``optimizer.momentum`` for
Adam) is left out of that study. Trials run through the configured launcher (joblib, Ray), so
they are child runs of the sweep's MLflow parent; each returns its ``objective`` metric.

At the end, ``<sweep dir>/tuning/`` holds trials.csv and ``best/<study>.yaml`` (re-run with
``optbench --config-dir <sweep dir>/tuning +best=<study>``), also logged on the parent run.

Why not hydra-optuna-sweeper: it pins optuna<3, whose SQLite storage fails on SQLAlchemy 2;
studies here live in memory for the length of the sweep."""

from __future__ import annotations

import csv
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from optbench.errors import USER_ERROR_EXIT, OptbenchError
from optbench.metrics import higher_is_better
from optbench.tracking import ENV_STUDY, ENV_TRIAL, env_set_overrides

_ABSENT = object()


@dataclass
class Study:
    name: str
    overrides: list[str]  # the study's fixed overrides (its choices of the discrete sweeps)
    space: dict[str, Any]  # key -> optuna distribution
    skipped: list[str]  # search keys its config does not have
    optuna: Any = None


def distribution(override: Override) -> Any:
    """The Optuna distribution of a Hydra sweep: interval (tag log for a log scale), range,
    or choice."""
    import optuna.distributions as d

    value = override.value()
    log = "log" in getattr(value, "tags", set())
    if isinstance(value, IntervalSweep):
        return d.FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if all(isinstance(v, int) for v in (start, stop, step)):
            return d.IntDistribution(start, stop - step, log=log, step=1 if log else step)
        return d.FloatDistribution(float(start), float(stop), step=None if log else step, log=log)
    if override.is_choice_sweep():
        return d.CategoricalDistribution(list(override.sweep_iterator()))
    raise OptbenchError(
        f"hydra.sweeper.params.{override.key_or_group}={override.input_line.split('=', 1)[1]} "
        "is not a search space: use interval(a, b), tag(log, interval(a, b)), range(a, b) "
        "or choice(a, b, ...)"
    )


def param_overrides(params: dict[str, Any]) -> list[str]:
    """``key=value`` overrides of a trial's parameters (floats at full precision)."""
    return [f"{k}={v!r}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]


class EqualBudgetSweeper(Sweeper):
    """One Optuna study per combination of discrete sweeps, n_trials trials each. Its settings
    are checked by the plugin that subclasses it (hydra_plugins/optbench_tune), against the
    schema Hydra composes them with."""

    def __init__(
        self,
        n_trials: int,
        n_jobs: int,
        sampler: str,
        seed: int,
        direction: str | None,
        params: dict[str, str] | None,
    ):
        self.n_trials, self.n_jobs, self.sampler, self.seed = n_trials, n_jobs, sampler, seed
        self.direction = direction
        self.params = dict(params or {})
        self.job_idx = 0

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list[dict[str, Any]]:
        metric = str(self.config.objective)
        direction = self.direction or ("maximize" if higher_is_better(metric) else "minimize")
        try:
            studies = self._studies(arguments)
        except OptbenchError as exc:  # one line, exit 2; the CLI marks the sweep FAILED
            from optbench.console import print_error

            print_error(str(exc))
            raise SystemExit(USER_ERROR_EXIT) from None
        for i, study in enumerate(studies):
            study.optuna = self._optuna_study(study.name, direction, self.seed + i)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        from optbench.console import print_tuning_start

        print_tuning_start(studies, self.n_trials, metric, direction)
        trials: list[tuple[Study, Any]] = []  # in launch order
        left = {study.name: self.n_trials for study in studies}
        while any(left.values()):
            batch = []
            for study in studies:
                for _ in range(min(self.n_jobs, left[study.name])):
                    batch.append((study, study.optuna.ask(study.space)))
                    left[study.name] -= 1
            self._run(batch, trials)
        return self._finish(studies, trials, metric, direction, sweep_dir)

    def _optuna_study(self, name: str, direction: str, seed: int) -> Any:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (
            optuna.samplers.TPESampler(seed=seed)
            if self.sampler == "tpe"
            else optuna.samplers.RandomSampler(seed=seed)
        )
        return optuna.create_study(study_name=name, direction=direction, sampler=sampler)

    def _studies(self, arguments: list[str]) -> list[Study]:
        """The discrete sweeps' combinations, each with the search keys its config has."""
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        search = [parser.parse_override(f"{k}={v}") for k, v in self.params.items()]
        fixed: list[str] = []
        axes: list[list[str]] = []
        for override in parser.parse_overrides(arguments):
            if override.is_interval_sweep() or "log" in getattr(override.value(), "tags", ()):
                search.append(override)
            elif override.is_discrete_sweep():
                key = override.get_key_element()
                axes.append([f"{key}={v}" for v in override.sweep_string_iterator()])
            else:
                fixed.append(override.input_line)
        if not search:
            raise OptbenchError(
                "nothing to tune: set hydra.sweeper.params (e.g. hparams_search=lr) or sweep a "
                "key with interval(a, b)"
            )
        space = {o.get_key_element().lstrip("+~"): distribution(o) for o in search}
        studies = []
        for combination in itertools.product(*axes):
            overrides = [*fixed, *combination]
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
            present = {
                k: v
                for k, v in space.items()
                if OmegaConf.select(cfg, k, default=_ABSENT) is not _ABSENT
            }
            name = "-".join(o.split("=", 1)[1] for o in combination) or str(cfg.optimizer.name)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)  # a file name and a +best= option
            if not present:
                raise OptbenchError(
                    f"nothing to tune for {name}: its config has none of {', '.join(space)}"
                )
            studies.append(Study(name, overrides, present, sorted(set(space) - set(present))))
        return studies

    def _run(self, batch: list[tuple[Study, Any]], trials: list) -> None:
        """Launch one batch of trials and tell each study its results (NaN: a failed job)."""
        from optuna.trial import TrialState

        jobs = []
        for study, trial in batch:
            env = env_set_overrides({ENV_STUDY: study.name, ENV_TRIAL: str(trial.number)})
            jobs.append([*study.overrides, *param_overrides(trial.params), *env])
        returns = self.launcher.launch(jobs, initial_job_idx=self.job_idx)
        self.job_idx += len(jobs)
        for (study, trial), job in zip(batch, returns, strict=True):
            try:
                value = float(job.return_value)
            except Exception:  # the job raised: it is a failed trial
                value = math.nan
            if math.isnan(value):
                study.optuna.tell(trial, state=TrialState.FAIL)
            else:
                study.optuna.tell(trial, value)
            trials.append((study, trial))

    def _finish(
        self, studies: list[Study], trials: list, metric: str, direction: str, sweep_dir: Path
    ) -> list[dict[str, Any]]:
        """Write trials.csv and best/<study>.yaml, print the table, log them on the parent."""
        folder = sweep_dir / "tuning"
        (folder / "best").mkdir(parents=True, exist_ok=True)
        keys = sorted({k for study in studies for k in study.space})
        with open(folder / "trials.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["study", "trial", "state", metric, *keys])
            for study, trial in trials:
                frozen = study.optuna.trials[trial.number]
                value = "" if frozen.value is None else frozen.value
                row = [frozen.params.get(k, "") for k in keys]
                writer.writerow([study.name, trial.number, frozen.state.name, value, *row])
        results = []
        for study in studies:
            complete = [t for t in study.optuna.trials if t.value is not None]
            best = study.optuna.best_trial if complete else None
            result = {
                "study": study.name,
                "trials": len(study.optuna.trials),
                "failed": len(study.optuna.trials) - len(complete),
                "value": best.value if best else None,
                "params": best.params if best else {},
                "file": None,
            }
            if best is not None:
                path = folder / "best" / f"{study.name}.yaml"
                path.write_text(self._best_yaml(study, best, metric, direction, folder))
                result["file"] = str(path)
            results.append(result)
        from optbench.console import print_tuning_results

        print_tuning_results(results, metric, folder)
        _log_on_parent(folder)
        return results

    def _best_yaml(self, study: Study, best: Any, metric: str, direction: str, folder: Path) -> str:
        """A config to append with ``+best=<study>``: the study's choices and the best values."""
        defaults: list[str] = []
        body = OmegaConf.create()
        parser = OverridesParser.create()
        for override in parser.parse_overrides([*study.overrides, *param_overrides(best.params)]):
            key = override.key_or_group
            if override.is_delete() or key.startswith("hydra") or key == "hparams_search":
                continue  # (hparams_search would make the re-run a tuning sweep again)
            value = override.value()
            if "." not in key and self._is_group(key):
                prefix = "" if override.is_add() else "override "
                defaults.append(f"  - {prefix}/{key}: {value}")
            else:
                OmegaConf.update(body, key, value, force_add=True)
        lines = [
            "# @package _global_",
            f"# optbench tuning: the best of {len(study.optuna.trials)} trials for {study.name}",
            f"# ({metric} = {best.value:.6g}, trial {best.number}, {direction}). Re-run with:",
            f"#   optbench --config-dir {folder} +best={study.name}",
            f"#   optbench -m --config-dir {folder} +best={study.name} seed=0,1,2,3,4",
        ]
        if defaults:
            lines += ["defaults:", *defaults]
        text = "\n".join(lines) + "\n"
        if body:
            text += OmegaConf.to_yaml(body)
        return text

    def _is_group(self, key: str) -> bool:
        return self.hydra_context.config_loader.get_group_options(key) != []


def _log_on_parent(folder: Path) -> None:
    """The tuning files as artifacts tuning/ of the sweep's parent run."""
    from optbench.tracking import client_for, open_sweep

    sweep = open_sweep()  # the sweep this process's jobs report to
    if sweep is None:
        return
    client_for(sweep.uri).log_artifacts(sweep.run_id, str(folder), "tuning")
