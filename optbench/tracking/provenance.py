"""Where a run came from, as tags and artifacts: the config choices and hash, the host, the
versions of the libraries that decide its numbers, the git commit, the command-line overrides
that composed it (``optbench reproduce`` re-composes from them) and the installed packages.
MLflow's own source tags name the optbench command, and the run's description (the UI's
Description) holds its command line."""

from __future__ import annotations

import contextlib
import json
import platform
import shlex
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from optbench.tracking.env import job_tags
from optbench.tracking.hashing import config_hash

# tagged on every run as optbench.version.<dist>, where installed (Keras's other backends too)
VERSIONED = ("scikit-learn", "numpy", "mlflow", "hydra-core", "tensorflow", "keras", "jax",
             "jaxlib", "torch")  # fmt: skip
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI (Markdown)


OVERRIDES_TAG = "optbench.overrides"  # the command line's overrides, as encode_overrides writes
# runs that group other runs (a sweep, a suite, a baselines rebuild): nothing to re-run alone
PARENT_ROLES = ("sweep", "suite", "suite-baselines")


def encode_overrides(overrides: list[str]) -> str:
    """The overrides tag's text: a JSON list, on job runs and sweep parents alike."""
    return json.dumps(list(overrides))


def decode_overrides(text: str) -> list[str]:
    """The overrides list of a tag; also the space-joined form sweep parents had before."""
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        return shlex.split(text)
    return [str(o) for o in decoded] if isinstance(decoded, list) else shlex.split(text)


def command_line(arguments: list[str]) -> str:
    """The optbench command that ``arguments`` make, quoted to paste into a shell."""
    return shlex.join(["optbench", *arguments])


def source_tags(command: str) -> dict[str, str]:
    """MLflow's source tags (the runs table's Source column) and the description."""
    return {"mlflow.source.name": "optbench", "mlflow.source.type": "LOCAL", NOTE_TAG: command}


def sweep_description(command: str, report: Path | None) -> str:
    """A sweep parent's description: its command line, and where its report is."""
    if report is None:
        return command
    return f"{command}\n\nReport: {report.absolute()} (also this run's artifact report/index.html)"


def optimizer_label(opt: Any) -> str:
    """The optimizer as runs are tagged: its name, or for one's own class custom:<target>."""
    return f"custom:{opt.target}" if opt.name == "custom" else str(opt.name)


def run_tags(cfg: Any, framework: str) -> dict[str, str]:
    """The tags a job's run starts with; ``framework`` is the trainer's (sklearn, keras, ...)."""
    tags = {
        "optbench.config_hash": config_hash(cfg),
        "optbench.framework": framework,
        "optbench.model": str(cfg.model.name),
        "optbench.optimizer": optimizer_label(cfg.optimizer),
        "optbench.schedule": str(cfg.schedule.name),
        "optbench.dataset": str(cfg.dataset.name),
        "optbench.seed": str(cfg.seed),
        "optbench.host": socket.gethostname(),
        **versions(),
    }
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    overrides = job_overrides()
    if overrides is not None:
        tags[OVERRIDES_TAG] = encode_overrides(overrides)
    tags.update(source_tags(command_line(overrides or [])))  # in a sweep: this job's own
    tags.update(job_tags())  # a trial of hparams_search: its study and trial
    return tags


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def versions() -> dict[str, str]:
    tags = {"optbench.version.python": platform.python_version()}
    for dist in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[f"optbench.version.{dist}"] = metadata.version(dist)
    return tags


def job_overrides() -> list[str] | None:
    """The command-line overrides that composed this job (with a sweep's choices for it)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return list(HydraConfig.get().overrides.task)


def environment_freeze() -> str:
    """``name==version`` of every installed distribution (pip freeze, without running pip)."""
    lines = {
        f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"]
    }
    return "\n".join(sorted(lines, key=str.lower)) + "\n"
