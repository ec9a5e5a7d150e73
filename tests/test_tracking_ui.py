"""The MLflow UI links optbench prints and the experiment view they open
(optbench/tracking/ui.py); the browser itself is in tests/test_tracking_server.py."""

import json

from optbench import paths
from optbench.tracking.ui import (
    KIND,
    KIND_TAG,
    VIEW_TAG,
    browse_hint,
    experiment_link,
    run_link,
    ui_base,
    ui_tags,
)


def test_links_open_the_model_training_view_of_the_experiment_and_of_a_run():
    base = "http://127.0.0.1:5000"
    assert experiment_link(base, "3") == (
        "http://127.0.0.1:5000/#/experiments/3/runs"
        "?workflowType=machine_learning&viewStateShareKey=optbench"
    )
    assert run_link(base, "3", "abc") == (
        "http://127.0.0.1:5000/#/experiments/3/runs/abc?workflowType=machine_learning"
    )


def test_the_ui_of_a_store_is_its_server_or_the_one_optbench_ui_starts():
    assert ui_base("sqlite:////x/runs/mlflow.db") == "http://127.0.0.1:5000"
    assert ui_base("sqlite:////x/runs/mlflow.db", port=5001) == "http://127.0.0.1:5001"
    assert ui_base("http://tracking.lab:8080/") == "http://tracking.lab:8080"
    assert ui_base("databricks") is None


def test_the_hint_names_the_command_that_serves_the_store():
    default = f"sqlite:///{paths.store().absolute()}"
    assert browse_hint(default, "1").startswith("optbench ui (or make ui), then open http://")
    other = browse_hint("sqlite:////elsewhere.db", "2", "r1")
    assert other == (
        "optbench ui --uri sqlite:////elsewhere.db, then open "
        "http://127.0.0.1:5000/#/experiments/2/runs/r1?workflowType=machine_learning"
    )
    assert browse_hint("http://lab:5000", "2").startswith("open http://lab:5000/#/experiments/2/")


def test_an_experiment_gets_the_view_once_and_keeps_it():
    tags = ui_tags({})
    assert tags[KIND_TAG] == KIND
    envelope = json.loads(tags[VIEW_TAG])  # a saved view, as the UI's "Save view" writes it
    assert envelope["name"] == "optbench results" and isinstance(envelope["createdAt"], int)
    state = json.loads(envelope["state"])
    assert state["orderByKey"] == "metrics.`test_accuracy`" and state["orderByAsc"] is False
    assert state["selectedColumns"][:2] == ["attributes.`Dataset`", "attributes.`Source`"]
    assert state["columnOrder"][0] == "metrics.`test_accuracy`"
    assert ui_tags(tags) == {}  # already there: nothing to write
    changed = json.dumps({**envelope, "state": "{}"})
    assert set(ui_tags({**tags, VIEW_TAG: changed})) == {VIEW_TAG}  # a view of another version
    assert set(ui_tags({**tags, VIEW_TAG: "not json"})) == {VIEW_TAG}
