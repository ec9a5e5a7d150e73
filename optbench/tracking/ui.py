"""The MLflow UI on optbench's results: every link optbench prints, and the view they open.

Why links carry so much: MLflow 3.17's UI opens an experiment on its GenAI overview (traces,
"No data") unless the URL says ``workflowType=machine_learning`` (its "GenAI / Model training"
switch is otherwise kept in the browser); earlier 3.x versions read the experiment tag
``mlflow.experimentKind`` instead, so it is set too. Its runs table shows no metric until
columns are added by hand and folds a sweep's runs under their parent. Each experiment
therefore holds a saved view, in the tag the UI's own "Save view" writes
(``mlflow.sharedViewState.<id>``): the result metrics first, sorted by test_accuracy (any sort
but "Created" lists child runs flat, beside their parent). The links open that view.

Plain strings only: the job's process builds links without importing MLflow."""

from __future__ import annotations

import json
import time

from optbench import paths
from optbench import tags as tag
from optbench.metrics import higher_is_better

UI_HOST = "127.0.0.1"
UI_PORT = 5000  # `optbench ui` and `make ui`
WORKFLOW = "workflowType=machine_learning"
VIEW_ID = "optbench"
VIEW_NAME = "optbench results"
VIEW_TAG = tag.SHARED_VIEW_PREFIX + VIEW_ID
KIND_TAG, KIND = tag.EXPERIMENT_KIND, "custom_model_development"
# the runs table's metric columns, in this order; an experiment shows those its runs logged
RESULT_METRICS = (
    "test_accuracy",
    "val_loss",
    "fit_time_s",
    "final_loss",
    "distance_to_min",
    "steps_to_tolerance",
)
SORT_METRIC = "test_accuracy"
ATTRIBUTE_COLUMNS = ("Dataset", "Source")
NO_UI_SCHEMES = ("databricks", "uc")  # stores whose UI is not an MLflow server of ours


def ui_base(uri: str, port: int = UI_PORT) -> str | None:
    """Where the UI on store ``uri`` is: the tracking server itself, else the server that
    ``optbench ui`` starts on it; None where MLflow's server cannot show it."""
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    if uri.startswith(NO_UI_SCHEMES):
        return None
    return f"http://{UI_HOST}:{port}"


def experiment_link(base: str, experiment_id: str) -> str:
    """The experiment's runs, in optbench's view."""
    return f"{base}/#/experiments/{experiment_id}/runs?{WORKFLOW}&viewStateShareKey={VIEW_ID}"


def run_link(base: str, experiment_id: str, run_id: str) -> str:
    """One run's page: its metrics, parameters, datasets and artifacts."""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?{WORKFLOW}"


def browse_hint(uri: str, experiment_id: str, run_id: str | None = None) -> str:
    """How to see the results in the UI: which command serves them, and the link to open."""
    base = ui_base(uri)
    if base is None:
        return f"open the experiment {experiment_id} of {uri} in its UI"
    link = experiment_link(base, experiment_id)
    if run_id is not None:
        link = run_link(base, experiment_id, run_id)
    if uri.startswith(("http://", "https://")):
        return f"open {link}"
    if uri == f"sqlite:///{paths.store().absolute()}":
        return f"optbench ui (or make ui), then open {link}"
    return f"optbench ui --uri {uri}, then open {link}"


def view_state() -> dict[str, object]:
    """The runs table of optbench's view, as the UI serializes it."""
    metrics = [f"metrics.`{key}`" for key in RESULT_METRICS]
    attributes = [f"attributes.`{name}`" for name in ATTRIBUTE_COLUMNS]
    return {
        "orderByKey": f"metrics.`{SORT_METRIC}`",
        "orderByAsc": not higher_is_better(SORT_METRIC),  # best first
        "selectedColumns": attributes + metrics,
        "columnOrder": metrics + attributes,
    }


def ui_tags(existing: dict[str, str]) -> dict[str, str]:
    """The experiment tags that ``existing`` lacks, or holds in another form, for the UI."""
    tags = {}
    if existing.get(KIND_TAG) != KIND:
        tags[KIND_TAG] = KIND
    state = json.dumps(view_state(), separators=(",", ":"))
    try:
        current = json.loads(existing.get(VIEW_TAG, "{}")).get("state")
    except (ValueError, AttributeError):
        current = None
    if current != state:
        envelope = {"name": VIEW_NAME, "createdAt": int(time.time() * 1000), "state": state}
        tags[VIEW_TAG] = json.dumps(envelope)
    return tags
