"""`optbench reproduce RUN_ID`: re-run a stored run from its logged overrides and seed.

It checks that the config composes to the one the run logged, and prints each final metric
against the original. On the CPU with hardware.deterministic=true (Keras) or any scikit-learn
run, the results agree to float noise; timings never do and are shown apart. It takes a job's
run id; a sweep's or suite's parent run is refused with the ids of its jobs.

optbench reproduce 3f2a...            # the run's store: --uri, else as optbench runs
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from optbench import tags as tag
from optbench.callbacks import Callback, RunContext
from optbench.errors import USER_ERROR_EXIT, OptbenchError
from optbench.metrics import is_timing

NOISE = 1e-6  # relative difference treated as float noise


def compare(original: dict[str, float], new: dict[str, float]) -> list[tuple[str, ...]]:
    """Rows (metric, original, reproduced, difference, verdict) for metrics in both runs."""
    rows = []
    for name in sorted(set(original) & set(new)):
        a, b = original[name], new[name]
        if is_timing(name):
            verdict = "timing"
        elif (math.isnan(a) and math.isnan(b)) or abs(a - b) <= NOISE * max(1.0, abs(a)):
            verdict = "same"
        else:
            verdict = "DIFFERENT"
        rows.append((name, f"{a:.6g}", f"{b:.6g}", f"{b - a:+.3g}", verdict))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="optbench reproduce",
        description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_id", help="the MLflow run id of one job (a child run in a sweep)")
    parser.add_argument(
        "--uri", default=None, help="tracking URI of the run's store (default: as optbench runs)"
    )
    args = parser.parse_args(argv)
    from optbench import console

    try:
        rows = reproduce(args.run_id, args.uri)
    except OptbenchError as exc:
        console.print_error(str(exc))
        return USER_ERROR_EXIT
    different = [r for r in rows if r[-1] == "DIFFERENT"]
    return 1 if different else 0


def reproduce(run_id: str, uri: str | None) -> list[tuple[str, ...]]:
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from optbench import console
    from optbench.runner import run
    from optbench.tracking import client_for, resolve_uri

    uri = resolve_uri(uri)
    client = client_for(uri)
    try:
        original = client.get_run(run_id)
    except Exception as exc:  # MlflowException: no such run
        raise OptbenchError(f"no run {run_id} in {uri} ({type(exc).__name__}).") from None
    tags = original.data.tags
    _refuse_parent(client, original)
    if tag.OVERRIDES not in tags:
        raise OptbenchError(
            f"run {run_id} has no {tag.OVERRIDES} tag (logged by optbench runs since the "
            "reproduce command exists): it cannot be re-composed."
        )
    overrides = [
        o
        for o in tag.decode_overrides(tags[tag.OVERRIDES])
        if not o.startswith(("run_name=", "tracking.uri=", "hydra"))
    ]
    overrides += [
        f"run_name=reproduce-{original.info.run_name}",
        f"tracking.uri={uri}",
        "trainer.progress=false",
        "trainer.skip_existing=false",
    ]
    from optbench.schema import register_configs

    register_configs()
    with initialize_config_module("optbench.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    _check_config(client, run_id, OmegaConf.to_yaml(cfg, resolve=True))
    commit = tags.get(tag.GIT_COMMIT)
    console.console.print(
        f"reproducing {original.info.run_name} ({run_id}) with: {' '.join(overrides[:-4]) or '(defaults)'}"
        + (f"; logged at git commit {commit[:10]}" if commit else ""),
        highlight=False,
        soft_wrap=True,
    )
    reproduction = Reproduction(run_id, tags)
    run(cfg, [reproduction])
    new = client.get_run(reproduction.run_id).data.metrics
    rows = compare(original.data.metrics, new)
    console.print_table(
        f"reproduce · {run_id[:8]} -> {reproduction.run_id[:8]}",
        ["metric", "original", "reproduced", "difference", "verdict"],
        [list(r) for r in rows],
    )
    return rows


def _refuse_parent(client: Any, run: Any) -> None:
    """A sweep's or suite's parent run trained nothing: name its jobs' ids instead."""
    role = run.data.tags.get(tag.ROLE)
    if role not in tag.PARENT_ROLES:
        return
    from optbench.tracking.sweep import sweep_children

    children = sweep_children(client, [run.info.experiment_id], run.info.run_id)
    jobs = [c.info.run_id for c in children if c.data.tags.get(tag.ROLE) is None]
    example = f"; e.g. optbench reproduce {jobs[0]}" if jobs else ""
    raise OptbenchError(
        f"run {run.info.run_id} is a {role}'s parent run, not a job: optbench reproduce takes "
        f"the run id of one job ({len(jobs)} under this {role}{example})."
    )


class Reproduction(Callback):
    """The new run's link to the original (its id and overrides as tags); a warning when a
    custom optimizer's code changed since. Keeps the new run's id for the comparison."""

    def __init__(self, original_id: str, original_tags: dict[str, str]):
        self.original_id, self.tags, self.run_id = original_id, original_tags, ""

    def on_run_begin(self, ctx: RunContext) -> None:
        _check_optimizer_source(self.tags, ctx.settings)
        ctx.run.set_tags(
            {tag.REPRODUCES: self.original_id, tag.OVERRIDES: self.tags[tag.OVERRIDES]}
        )
        self.run_id = ctx.run.run_id


def _check_optimizer_source(tags: dict[str, str], settings: Any) -> None:
    """optimizer=custom: warn when the class's source file is not the one that ran."""
    logged = tags.get(tag.OPTIMIZER_SOURCE_SHA256)
    if not logged or settings.optimizer.name != "custom":
        return
    from rich.markup import escape

    from optbench import console
    from optbench.optim.custom import resolve
    from optbench.trainers.base import framework_of

    target = resolve(settings.optimizer, framework_of(settings))
    if target.sha256 != logged:
        console.console.print(
            f"[yellow]warning:[/yellow] the optimizer's code changed since the run: "
            f"{escape(str(target.source))} has sha256 {target.sha256[:12]}..., the run logged "
            f"{logged[:12]}... (its copy is the run's artifact optimizer/).",
            highlight=False,
            markup=True,
            soft_wrap=True,
        )


def _check_config(client: Any, run_id: str, composed: str) -> None:
    """The logged config.yaml against the one composed now (config files changed since?),
    both without the settings that do not change a result (optbench.tracking.hashing)."""
    import tempfile
    from pathlib import Path

    import yaml
    from rich.markup import escape

    from optbench import console
    from optbench.tracking import result_defining

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, "config.yaml", tmp)
        except Exception:
            return
        logged = Path(path).read_text()
    old, new = (
        yaml.safe_dump(result_defining(yaml.safe_load(text)), sort_keys=False).splitlines()
        for text in (logged, composed)
    )
    if old != new:
        import difflib

        diff = "\n".join(difflib.unified_diff(old, new, "logged", "now", lineterm="", n=0))
        console.console.print(
            f"[yellow]warning:[/yellow] the config composes differently now:\n{escape(diff)}",
            highlight=False,
            markup=True,
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
