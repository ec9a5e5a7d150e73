"""Renamed config keys (optbench/schema/renamed.py): an old key is refused with one line naming
its new name, on the command line (before Hydra composes, in every override form) and
force-added to a composed config, instead of Hydra's generic 'not in struct'."""

from __future__ import annotations

import pytest

from optbench.errors import OptbenchError
from optbench.runner import prepare
from optbench.schema import refuse_renamed_overrides
from optbench.schema.renamed import RENAMED_KEYS, refuse_renamed
from tests.conftest import compose_cfg


@pytest.mark.parametrize(("old", "new"), sorted(RENAMED_KEYS.items()))
def test_each_old_key_names_its_new_one(old, new):
    with pytest.raises(OptbenchError) as refused:
        refuse_renamed(old)
    assert str(refused.value) == f"{old} was renamed {new}."


@pytest.mark.parametrize(
    "key", ["model.hidden_sizes", "hidden", "model.hidden_size", "dataset.hidden"]
)
def test_a_key_that_only_looks_like_an_old_one_passes(key):
    refuse_renamed(key)


@pytest.mark.parametrize(
    "argument", ["model.hidden=[8]", "+model.hidden=[8]", "++model.hidden=[8]", "~model.hidden"]
)
def test_every_override_form_of_an_old_key_is_refused(argument):
    with pytest.raises(OptbenchError, match=r"^model\.hidden was renamed model\.hidden_sizes\.$"):
        refuse_renamed_overrides(["model=mlp", argument])


def test_flags_are_not_overrides_and_the_new_name_passes():
    refuse_renamed_overrides(["-m", "--cfg", "job", "--model.hidden"])
    refuse_renamed_overrides(["--cfg", "job", "model=mlp", "model.hidden_sizes=[64]"])


def test_a_renamed_key_force_added_to_a_composed_config_is_refused():
    """Force-added (+key) to a composed config (the command-line forms: above)."""
    with pytest.raises(OptbenchError, match=r"^model\.head\.hidden was renamed model\.head\."):
        prepare(compose_cfg("model=resnet50", "optimizer=adam", "+model.head.hidden=[32]"))
