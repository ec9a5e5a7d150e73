"""When two runs are the same run: the settings that do not change a result, the config hash
that ignores them, and the search for an earlier FINISHED run with the same hash
(trainer.skip_existing). ``optbench reproduce`` compares configs by the same list."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from optbench import tags as tag

# settings that change how a run is watched, named or stored, not what it computes
RESULT_NEUTRAL = (
    "experiment_name",
    "run_name",
    "tracking",
    "trainer.progress",
    "trainer.skip_existing",
)
# settings added after runs were recorded, at the value that computes what those runs did:
# left out of the hash at that value, so the older runs still match (skip_existing, reproduce)
ADDED_AT_DEFAULT = {"dataset.condition_number": 1.0, "model.time_inference": True}


def result_defining(tree: dict[str, Any]) -> dict[str, Any]:
    """A copy of a resolved config tree without the RESULT_NEUTRAL settings, nor the
    ADDED_AT_DEFAULT ones at their old value."""
    tree = copy.deepcopy(tree)
    for key in RESULT_NEUTRAL:
        parent, _, leaf = key.rpartition(".")
        node = tree.get(parent, {}) if parent else tree
        node.pop(leaf, None)
    for key, default in ADDED_AT_DEFAULT.items():
        parent, _, leaf = key.rpartition(".")
        node = tree.get(parent, {})
        if leaf in node and node[leaf] == default:
            del node[leaf]
    return tree


def config_hash(cfg: Any) -> str:
    """sha256 (16 hex) of the resolved config minus RESULT_NEUTRAL: equal hashes, same run."""
    from omegaconf import OmegaConf

    tree = result_defining(OmegaConf.to_container(cfg, resolve=True))
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def find_finished(cfg: Any) -> Any:
    """A FINISHED run of this experiment with the same config hash, or None."""
    from optbench.tracking.store import client_for, resolve_uri

    client = client_for(resolve_uri(cfg.tracking.uri))
    experiment = client.get_experiment_by_name(cfg.experiment_name)
    if experiment is None:
        return None
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=tag.where(tag.CONFIG_HASH, config_hash(cfg))
        + " and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None
