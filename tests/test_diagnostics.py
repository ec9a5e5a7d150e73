"""optbench/diagnostics/__init__.py, the diagnostics levels and how often they probe: levels
are cumulative; the scikit-learn and NumPy trainers probe every step up to MAX_PROBES probes
a run; the Keras trainer's default interval keeps a probe near COST_SHARE of the training
time (its formula and the documented case: batch 32, sample 512, every 400 steps)."""

from __future__ import annotations

import math

import pytest

from optbench.diagnostics import LEVELS, MAX_PROBES, at_least, default_every, every_of
from optbench.schema.trainer import TrainerConfig


def test_each_level_includes_the_ones_before_it():
    assert LEVELS == ("off", "basic", "noise", "curvature")
    for i, level in enumerate(LEVELS):
        assert [at_least(level, wanted) for wanted in LEVELS] == [j <= i for j in range(4)]


@pytest.mark.parametrize(
    ("every", "max_iter", "expected"),
    [
        (None, 100, 1),
        (None, MAX_PROBES, 1),
        (None, MAX_PROBES + 1, 2),
        (None, 3500, 4),
        (7, 3500, 7),
    ],
)
def test_cheap_steps_are_probed_every_step_up_to_max_probes_unless_set(every, max_iter, expected):
    trainer = TrainerConfig(diagnostics_every=every, max_iter=max_iter)
    assert every_of(trainer) == expected
    assert math.ceil(max_iter / expected) <= MAX_PROBES or every is not None


@pytest.mark.parametrize(
    ("batch", "sample", "expected"),
    [(32, 512, 400), (128, 512, 100), (32, 100, 143), (4096, 512, 4), (100_000, 1, 1)],
)
def test_the_default_interval_keeps_probing_near_its_share_of_training(batch, sample, expected):
    """ceil((sample + PROBE_OVERHEAD) / COST_SHARE / batch), at least 1."""
    assert default_every(batch, sample) == expected
