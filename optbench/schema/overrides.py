"""Command-line overrides refused before Hydra composes them, with one line each: renamed keys
(optbench.schema.renamed) and a list of options for a config group. Hydra accepts
``optimizer=[saga,lbfgs]`` and merges both files into one config, a run of neither; what was
meant is a sweep."""

from __future__ import annotations

from collections.abc import Iterable

from optbench.errors import OptbenchError
from optbench.schema.renamed import refuse_renamed_overrides

# the config groups (conf/<group>/) that a run takes one option of
SINGLE_OPTION_GROUPS = ("dataset", "model", "optimizer", "schedule", "hardware", "hparams_search")


def refuse_group_list(argument: str) -> None:
    """Raise OptbenchError for ``group=[a,b]`` (also ``+group=``, ``group@package=``)."""
    key, _, value = argument.partition("=")
    group = key.lstrip("+~").split("@", 1)[0]
    if group not in SINGLE_OPTION_GROUPS or not value.strip().startswith("["):
        return
    options = ",".join(o.strip() for o in value.strip()[1:].rstrip("]").split(","))
    raise OptbenchError(f"{argument}: one option per group; sweep with -m {group}={options}")


def check_overrides(arguments: Iterable[str]) -> None:
    """Check the command line's overrides (``key=value``, ``+key=``, ``++key=``, ``~key``);
    flags (``-m``, ``--cfg``) pass untouched."""
    arguments = list(arguments)
    refuse_renamed_overrides(arguments)
    for argument in arguments:
        if not argument.startswith("-"):
            refuse_group_list(argument)
