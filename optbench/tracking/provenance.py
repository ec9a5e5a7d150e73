"""Where a run came from, as tags and artifacts: the config choices and hash, the host, the
versions of the libraries that decide its numbers, the git commit, the command-line overrides
that composed it (``optbench reproduce`` re-composes from them) and the installed packages.
MLflow's own source tags name the optbench command, and the run's description (the UI's
Description) holds its command line."""

from __future__ import annotations

import contextlib
import platform
import shlex
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from optbench import backends
from optbench import tags as tag
from optbench.tracking.env import job_tags
from optbench.tracking.hashing import config_hash

# tagged on every run as optbench.version.<dist>, where installed (Keras's other backends too)
# and each Keras backend's own (optbench/backends/: versions())
VERSIONED = ("scikit-learn", "numpy", "mlflow", "hydra-core", "keras")


def command_line(arguments: list[str]) -> str:
    """The optbench command that ``arguments`` make, quoted to paste into a shell."""
    return shlex.join(["optbench", *arguments])


def source_tags(command: str) -> dict[str, str]:
    """MLflow's source tags (the runs table's Source column) and the description."""
    return {tag.SOURCE_NAME: "optbench", tag.SOURCE_TYPE: "LOCAL", tag.NOTE: command}


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
        tag.CONFIG_HASH: config_hash(cfg),
        tag.FRAMEWORK: framework,
        tag.MODEL: str(cfg.model.name),
        tag.OPTIMIZER: optimizer_label(cfg.optimizer),
        tag.SCHEDULE: str(cfg.schedule.name),
        tag.DATASET: str(cfg.dataset.name),
        tag.SEED: str(cfg.seed),
        tag.HOST: socket.gethostname(),
        **versions(),
    }
    commit = git_commit()
    if commit:
        tags[tag.GIT_COMMIT] = commit
    overrides = job_overrides()
    if overrides is not None:
        tags[tag.OVERRIDES] = tag.encode_overrides(overrides)
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
    tags = {tag.VERSION_PREFIX + "python": platform.python_version()}
    for dist in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[tag.VERSION_PREFIX + dist] = metadata.version(dist)
    for name in backends.BACKENDS:
        for dist, version in backends.get(name).versions().items():
            tags[tag.VERSION_PREFIX + dist] = version
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


class FreezeFile:
    """``environment_freeze()`` as a file made where MLflow runs: sent when the job starts, the
    tracking helper reads the ~0.1 s of package metadata on its own core while the job trains
    (optbench.run_record.Artifacts)."""

    def save(self, path: str) -> None:
        Path(path).write_text(environment_freeze())


def freeze_file() -> FreezeFile:
    return FreezeFile()
