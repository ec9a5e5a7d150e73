"""Config keys that were renamed: an old key is refused with one line naming the new one,
rather than Hydra's generic 'not in struct' error (old command lines and YAMLs keep turning
up)."""

from __future__ import annotations

from collections.abc import Iterable

from optbench.errors import OptbenchError

RENAMED_KEYS = {
    "model.hidden": "model.hidden_sizes",
    "model.head.hidden": "model.head.hidden_sizes",
}


def refuse_renamed(key: str) -> None:
    """Raise OptbenchError when ``key`` (a full dotted key) is an old name."""
    if key in RENAMED_KEYS:
        raise OptbenchError(f"{key} was renamed {RENAMED_KEYS[key]}.")


def refuse_renamed_overrides(arguments: Iterable[str]) -> None:
    """Check command-line overrides (``key=value``, ``+key=``, ``++key=``, ``~key``) before
    Hydra composes them; flags (``-m``, ``--cfg``) pass untouched."""
    for argument in arguments:
        if not argument.startswith("-"):
            refuse_renamed(argument.lstrip("+~").split("=", 1)[0])
