"""Every MLflow tag key optbench writes or reads, and the one text form of the overrides tag.

Stored runs outlive the code: a key renamed here would hide every older run from the report,
``reproduce`` and the suite, so keys live in one place and tests/test_tags.py finds any
written elsewhere. A leaf module (standard library only): the job's process reads it without
importing MLflow."""

from __future__ import annotations

import json
import shlex

# What the run is: the config's choices (the report's columns) and its identity.
FRAMEWORK = "optbench.framework"
MODEL = "optbench.model"
DATASET = "optbench.dataset"
OPTIMIZER = "optbench.optimizer"  # its name, or custom:<target>; on a suite parent, its label
SCHEDULE = "optbench.schedule"
SEED = "optbench.seed"
CONFIG_HASH = "optbench.config_hash"  # the result-defining config (trainer.skip_existing)
HOST = "optbench.host"
OVERRIDES = "optbench.overrides"  # the command line's overrides, as encode_overrides writes
REPRODUCES = "optbench.reproduces"  # on a reproduction: the run id it re-ran
VERSION_PREFIX = "optbench.version."  # + python or a distribution's name

# How it ended.
DIVERGED = "optbench.diverged"  # "true" | "false"
STOP_REASON = "optbench.stop_reason"
ERROR = "optbench.error"
ERROR_TYPE = "optbench.error_type"  # "user" for an OptbenchError, else the exception's kind

# Its data.
DATA_SOURCE = "optbench.data_source"
DATA_SHA256_PREFIX = "optbench.data_sha256."  # + the file's name
SIZE_PREFIX = "optbench.n_"  # + train, val, test
N_TRAIN = SIZE_PREFIX + "train"

# The hardware it ran on.
THREADS = "optbench.threads"
BACKEND = "optbench.backend"
DEVICES = "optbench.devices"
GPU_NAMES = "optbench.gpu_names"
REPLICAS = "optbench.replicas"
PRECISION = "optbench.precision"
XLA = "optbench.xla"
DETERMINISTIC = "optbench.deterministic"
HARDWARE_FALLBACK = "optbench.hardware_fallback"
BATCH_SIZE = "optbench.batch_size"
COMPUTE_DTYPE = "optbench.compute_dtype"
LOSS_SCALING = "optbench.loss_scaling"

# Model files: pretrained weights, the feature cache, optimizer=custom's source.
WEIGHTS = "optbench.weights"
WEIGHTS_LABEL = "optbench.weights_label"
WEIGHTS_SHA256 = "optbench.weights_sha256"
WEIGHTS_FILE = "optbench.weights_file"
FEATURE_CACHE = "optbench.feature_cache"
FEATURE_CACHE_HIT = "optbench.feature_cache_hit"
OPTIMIZER_SOURCE = "optbench.optimizer_source"

# Training diagnostics (optbench/diagnostics/): the level, the flags raised, what was not measured.
DIAGNOSTICS = "optbench.diagnostics"
DIAG_FLAGS = "optbench.diagnostics.flags"  # comma-separated flag names; empty: none raised
DIAG_FLAG_PREFIX = "optbench.diagnostics.flag."  # + the flag: "step N: its rule"
DIAG_UNAVAILABLE = "optbench.diagnostics.unavailable"  # what this trainer cannot measure
OPTIMIZER_SOURCE_SHA256 = "optbench.optimizer_source_sha256"

# Runs that group runs, and the runs they group.
ROLE = "optbench.role"  # a ROLES value on a parent run; absent on a job
ROLE_SWEEP, ROLE_SUITE, ROLE_BASELINES = "sweep", "suite", "suite-baselines"
PARENT_ROLES = (ROLE_SWEEP, ROLE_SUITE, ROLE_BASELINES)  # nothing to re-run alone
SWEEP_ID = "optbench.sweep_id"
SWEEP_DIR = "optbench.sweep_dir"
STUDY = "optbench.study"  # a trial of hparams_search: its study and trial number
TRIAL = "optbench.trial"
SUITE_ID = "optbench.suite_id"
RULESET = "optbench.ruleset"
SUITE_SEEDS = "optbench.suite_seeds"  # comma-separated

# MLflow's own (mlflow.utils.mlflow_tags, without importing MLflow).
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE = "mlflow.note.content"  # the run's description in the UI (Markdown)
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
# experiment tags the UI reads
EXPERIMENT_KIND = "mlflow.experimentKind"
SHARED_VIEW_PREFIX = "mlflow.sharedViewState."  # + the saved view's id


def choice(name: str) -> str:
    """The tag of a config choice in report.frame's CHOICES: model -> optbench.model."""
    return "optbench." + name


def where(key: str, value: str, op: str = "=") -> str:
    """An MLflow search clause on tag ``key``: tags.`optbench.role` = 'sweep'."""
    return f"tags.`{key}` {op} '{value}'"


def encode_overrides(overrides: list[str]) -> str:
    """The overrides tag's text: a JSON list, on job runs and sweep parents alike (an override
    may hold spaces and quotes, which a joined string cannot tell apart)."""
    return json.dumps(list(overrides))


def decode_overrides(text: str) -> list[str]:
    """The overrides list of a tag; also the space-joined form sweep parents had before."""
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        return shlex.split(text)
    return [str(o) for o in decoded] if isinstance(decoded, list) else shlex.split(text)
