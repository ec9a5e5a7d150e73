"""The model registry agrees with conf/model/: one row per YAML, each YAML extends its row's
schema and runs on its row's frameworks; and a model's name is written once in optbench/."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from optbench.errors import OptbenchError
from optbench.models.backbones import BACKBONES
from optbench.models.registry import KERAS_MODELS, LANDSCAPE, MODELS, model_row
from optbench.schema.model import SCHEMAS
from tests.conftest import REPO

CONF = REPO / "conf" / "model"


def model_yaml(name: str) -> tuple[type, dict, list]:
    """(the schema the YAML extends, its keys, its other defaults: the group overrides)."""
    body = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    defaults = [d for d in body.pop("defaults") if d != "_self_"]
    (extends,) = [d for d in defaults if isinstance(d, str) and d.startswith("/schema/model/")]
    schema = SCHEMAS[extends.removeprefix("/schema/model/").removesuffix("@_here_")]
    return schema, body, [d for d in defaults if d != extends]


def test_there_is_one_row_per_model_yaml():
    assert sorted(MODELS) == sorted(p.stem for p in CONF.glob("*.yaml"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_yaml_extends_its_rows_schema_and_runs_on_its_frameworks(name):
    row, (schema, body, overrides) = MODELS[name], model_yaml(name)
    assert row.name == body["name"] == name and row.schema is schema
    framework = body["framework"]
    if framework == "auto":  # scikit-learn for its own solvers, Keras for the rest
        assert row.frameworks == ("sklearn", "keras") and row.sklearn_optimizers
    elif framework == "${.implementation}":
        assert body["implementation"] in row.frameworks
    else:
        assert framework in row.frameworks
    assert (body["input_scaling"] == "raw") == (row.backbone is not None)
    for override in overrides:  # a dataset the YAML picks is one the row takes
        dataset = override.get("override /dataset@_global_.dataset")
        assert dataset is None or row.datasets is None or dataset in row.datasets


def test_the_backbones_are_the_rows_with_one():
    assert {n: r.backbone for n, r in MODELS.items() if r.backbone} == BACKBONES
    assert all(backbone.module == name for name, backbone in BACKBONES.items())
    assert {MODELS[name].schema.__name__ for name in BACKBONES} == {"TransferConfig"}


def test_the_lists_in_messages_come_from_the_rows():
    assert KERAS_MODELS == ("logreg", "mlp", "cnn_2c2d") and LANDSCAPE == "landscape"
    with pytest.raises(OptbenchError) as info:
        model_row("resnet5")
    assert str(info.value) == (
        "model=resnet5 has no row in the model registry (optbench/models/registry.py); known: "
        "logreg, mlp_sklearn, mlp, cnn_2c2d, landscape, mobilenet_v2, resnet50."
    )


def test_a_model_name_is_written_once_in_the_code():
    lines = [
        f"{path}:{number}"
        for path in (REPO / "optbench").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if '"resnet50"' in line
    ]
    assert len(lines) == 1 and "optbench/models/registry.py" in lines[0], lines


def test_the_registry_and_the_rules_import_neither_keras_nor_scikit_learn():
    code = (
        "import sys, optbench.compat, optbench.models.backbones; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
