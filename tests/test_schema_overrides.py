"""Command-line overrides refused before Hydra composes them (optbench/schema/overrides.py): a
list of options for a config group, which Hydra would merge into one config (a run of neither)
where a sweep was meant, and the renamed keys (tests/test_schema_renamed.py); one line each,
with the sweep to run instead."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError
from optbench.schema.overrides import SINGLE_OPTION_GROUPS, check_overrides, refuse_group_list
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("argument", "sweep"),
    [
        ("optimizer=[saga,lbfgs]", "optimizer=saga,lbfgs"),
        ("+hardware=[cpu]", "hardware=cpu"),  # one option in brackets is still a list
        ("model@x=[ mlp , cnn_2c2d ]", "model=mlp,cnn_2c2d"),
        ("dataset= [digits,mnist]", "dataset=digits,mnist"),
    ],
)
def test_a_list_of_options_names_the_sweep_to_run_instead(argument, sweep):
    with pytest.raises(OptbenchError) as refused:
        refuse_group_list(argument)
    assert str(refused.value) == f"{argument}: one option per group; sweep with -m {sweep}"


@pytest.mark.parametrize(
    "argument",
    ["optimizer=adam", "seed=[1,2]", "model.hidden_sizes=[64,32]", "experiment=[a,b]", "~dataset"],
)
def test_a_list_of_values_or_a_single_option_passes(argument):
    refuse_group_list(argument)


@pytest.mark.parametrize("group", sorted(SINGLE_OPTION_GROUPS))
def test_each_group_that_takes_one_option_is_a_conf_group_and_refuses_a_list(group):
    assert (REPO / "conf" / group).is_dir(), group
    with pytest.raises(OptbenchError, match=rf"^{group}=\[a,b\]: one option per group; "):
        refuse_group_list(f"{group}=[a,b]")


def test_the_whole_command_line_is_checked_for_group_lists_and_renamed_keys():
    with pytest.raises(
        OptbenchError, match=r"^schedule@x=\[cosine, step\]: .* schedule=cosine,step$"
    ):
        check_overrides(["-m", "model=mlp", "schedule@x=[cosine, step]"])
    with pytest.raises(OptbenchError, match=r"^model\.hidden was renamed model\.hidden_sizes\.$"):
        check_overrides(["model=mlp", "model.hidden=[8]"])
    check_overrides(["-m", "optimizer=saga,lbfgs", "model=mlp", "model.hidden_sizes=[64,32]"])
    check_overrides(["dataset=cifar10", "dataset.classes=[cat,dog]", "+experiment=[a]"])
