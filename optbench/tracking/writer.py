"""``MlflowWriter``: every MLflow call a job makes, on plain data (ids, dicts, tuples), so
that the same calls run in the job's process or, by default, in the helper process
(optbench/tracking/helper.py) while the job imports its framework and trains. Nothing here
imports MLflow until a call needs it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from optbench.tracking.datasets import DatasetRecord
from optbench.tracking.metric_history import Record, log_history
from optbench.tracking.store import client_for, experiment_id
from optbench.tracking.ui import ui_tags

MAX_METRICS_PER_BATCH = 1000  # MLflow's limit for one log_batch call
MAX_PARAMS_PER_BATCH = 100
RACE_ATTEMPTS = 3  # calls of a write that lost a race to insert the same row: one more does


def _dataset_inputs(datasets: list[DatasetRecord]) -> list[Any]:
    """The records as MLflow's DatasetInputs: files as a local source, generated data as a code
    source with its settings."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    inputs = []
    for record in datasets:
        if record["source_type"] == "local":
            source: Any = LocalArtifactDatasetSource(record["source"])
        else:
            source = CodeDatasetSource({"generator": record["source"], **record["settings"]})
        meta = MetaDataset(source, name=record["name"], digest=record["digest"])
        dataset = Dataset(**meta.to_dict(), profile=record["profile"])
        context = InputTag(MLFLOW_DATASET_CONTEXT, record["context"])
        inputs.append(DatasetInput(dataset, tags=[context]))
    return inputs


# How a uniqueness conflict reads: SQLAlchemy's IntegrityError (in a local store, or in the
# message a tracking server returns as BAD_REQUEST) and the databases' own words for it.
CONFLICT_WORDS = ("integrityerror", "uniqueviolation", "unique constraint", "duplicate")


def _lost_race(exc: BaseException) -> bool:
    """Whether ``exc`` says another writer inserted the same row first (which it committed:
    the insert that failed saw it)."""
    chain: BaseException | None = exc
    while chain is not None:
        if type(chain).__name__ == "IntegrityError":  # SQLAlchemy's, or the driver's
            return True
        chain = chain.__cause__ or chain.__context__
    return any(word in str(exc).lower() for word in CONFLICT_WORDS)


def _retry_lost_race(call: Any, *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, made again where it lost a race to insert a row that another
    job inserted at the same moment. MLflow's store looks a row up before inserting it (a
    dataset, an experiment tag), so jobs that start together collide on its UNIQUE
    constraint; the row is committed then, and the next call finds it."""
    for _ in range(RACE_ATTEMPTS - 1):
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            if not _lost_race(exc):
                raise
    return call(*args, **kwargs)


class MlflowWriter:
    """Writes one store's runs; the store is opened on first use, so a writer that is
    discarded (a job that failed validation) never touches it."""

    def __init__(self, uri: str):
        self.uri = uri
        self._client: Any = None
        self._runs: dict[str, tuple[str, str]] = {}  # run id -> (artifact uri, experiment id)
        self._ui_ready: set[str] = set()  # experiments whose UI tags are checked

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client_for(self.uri)
        return self._client

    def start(
        self, experiment_name: str, run_name: str, tags: dict[str, str], params: dict[str, str]
    ) -> tuple[str, str]:
        """Create the run and log its params; returns (run_id, artifact_uri)."""
        from mlflow.entities import Param

        exp_id = self._experiment(experiment_name)
        run = self.client.create_run(exp_id, run_name=run_name, tags=tags)
        records = [Param(k, v[:6000]) for k, v in params.items()]
        for i in range(0, len(records), MAX_PARAMS_PER_BATCH):
            self.client.log_batch(run.info.run_id, params=records[i : i + MAX_PARAMS_PER_BATCH])
        self._runs[run.info.run_id] = (run.info.artifact_uri, exp_id)
        return run.info.run_id, run.info.artifact_uri

    def _experiment(self, name: str) -> str:
        """Get or create the experiment, with the tags the MLflow UI needs (optbench.tracking.ui)
        set once: new experiments and those an older optbench made."""
        exp_id = experiment_id(self.client, name, self.uri)
        if exp_id not in self._ui_ready:
            for key, value in ui_tags(self.client.get_experiment(exp_id).tags).items():
                # jobs that start together in a new experiment all set these at once
                _retry_lost_race(self.client.set_experiment_tag, exp_id, key, value)
            self._ui_ready.add(exp_id)
        return exp_id

    def metrics(self, run_id: str, records: list[Record]) -> None:
        """Write ``records``: into a SQL store in bulk (optbench.tracking.metric_history),
        elsewhere in MLflow-sized batches."""
        log_history(self.client, run_id, records, MAX_METRICS_PER_BATCH)

    def inputs(self, run_id: str, datasets: list[DatasetRecord]) -> None:
        """Log the data the run trained on as MLflow datasets (optbench.tracking.datasets).

        Bookkeeping, so it never fails the run. The jobs of a parallel sweep register the same
        dataset at the same moment: all but one lose the race to insert it, and their second
        call links their run to the stored one. What still fails is one warning line on stderr
        (the job's own, on the helper path too: the helper inherits it, and raises nothing
        that would stop its queued writes), and the run goes on."""
        try:
            _retry_lost_race(self.client.log_inputs, run_id, datasets=_dataset_inputs(datasets))
        except Exception as exc:
            names = ", ".join(str(d.get("name")) for d in datasets)
            first_line = (str(exc).strip().splitlines() or [""])[0][:200]
            print(
                f"warning: run {run_id} goes on without its dataset input ({names}): "
                f"{type(exc).__name__}: {first_line}",
                file=sys.stderr,
                flush=True,
            )

    def tags(self, run_id: str, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, v[:5000]) for k, v in tags.items()])

    def text(self, run_id: str, text: str, path: str) -> None:
        self.client.log_text(run_id, text, path)

    def figure(self, run_id: str, draw: str, args: tuple, path: str) -> None:
        """Draw with ``module:function(*args)`` where MLflow runs, then log the result: a
        Figure for a .png path, otherwise any object with ``save(local_path)`` (an animation)."""
        import importlib
        import tempfile

        module, name = draw.split(":")
        drawn = getattr(importlib.import_module(module), name)(*args)
        if path.endswith(".png"):
            self.client.log_figure(run_id, drawn, path)
            return
        with tempfile.TemporaryDirectory() as tmp:
            local = f"{tmp}/{Path(path).name}"
            drawn.save(local)
            self.file(run_id, local, path)

    def file(self, run_id: str, local: str, path: str) -> None:
        folder = path.rpartition("/")[0]
        if Path(local).name != Path(path).name:
            raise ValueError(f"artifact {path} must keep the file name of {local}")
        self.client.log_artifact(run_id, local, artifact_path=folder or None)

    def drain(self) -> None:
        """Return once every earlier write is done (they already are, in this process)."""

    def finish(self, run_id: str, status: str) -> tuple[str, str, str]:
        """Close the run; returns (run_id, artifact_uri, experiment_id)."""
        self.client.set_terminated(run_id, status=status)
        if run_id not in self._runs:  # a run another writer started (a sweep's parent)
            info = self.client.get_run(run_id).info
            self._runs[run_id] = (info.artifact_uri, info.experiment_id)
        return (run_id, *self._runs[run_id])
