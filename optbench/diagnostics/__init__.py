"""Training diagnostics (trainer.diagnostics): why an optimizer fails, per layer and per step.

Levels are cumulative: ``basic`` (gradient, weight and update norms per layer, distance from
initialisation, dead ReLU units, non-finite counts, and the flags of ``flags.py``), ``noise``
(+ the gradient noise scale and per-layer signal-to-noise ratio from micro-batch splits),
``curvature`` (+ sharpness by power iteration on Hessian-vector products and the Hessian trace
by Hutchinson probes, at sparse steps). Every trainer turns what it measured into the same rows
(``stats.py``); ``record.py`` makes them MLflow scalars, a table and a heat map.
docs/diagnostics.md gives each formula, its cost and how to read it."""

from __future__ import annotations

import math
from typing import Any

LEVELS = ("off", "basic", "noise", "curvature")


def at_least(level: str, wanted: str) -> bool:
    """Whether diagnostics ``level`` includes the instruments of ``wanted``."""
    return LEVELS.index(level) >= LEVELS.index(wanted)


MAX_PROBES = 1000  # trainer.diagnostics_every=null in a loop of cheap steps: at most this many


def every_of(trainer: Any) -> int:
    """Steps between probes for the scikit-learn and NumPy trainers, whose steps cost about
    as much as a probe: trainer.diagnostics_every, else every step up to MAX_PROBES probes."""
    return trainer.diagnostics_every or max(1, math.ceil(trainer.max_iter / MAX_PROBES))


# trainer.diagnostics_every=null: a probe costs about as much as training on its sample plus
# PROBE_OVERHEAD examples (bench/results/diagnostics_cost.md); one every COST_SHARE^-1 times
# that many training examples keeps basic near COST_SHARE of the training time
PROBE_OVERHEAD, COST_SHARE = 128, 0.05


def default_every(batch_size: int, sample: int) -> int:
    """Optimizer steps between probes when trainer.diagnostics_every is null (batch 32 with
    the default 512-example sample: every 400 steps)."""
    return max(1, math.ceil((sample + PROBE_OVERHEAD) / COST_SHARE / batch_size))
