"""Each flag's rule (optbench/diagnostics/flags.py) on either side of its threshold, at the
boundary, and for the number of probes in a row it needs."""

from __future__ import annotations

import math

import pytest

from optbench.diagnostics import flags
from optbench.diagnostics.flags import evaluate
from optbench.diagnostics.stats import ALL


def probes(*alls: dict, layers: list[list[dict]] | None = None) -> list[dict]:
    """Rows of consecutive probes at steps 0, 10, 20, ...: the ALL rows given, and per probe
    the layer rows given (input side first)."""
    rows = []
    for i, whole in enumerate(alls):
        step = 10 * i
        for j, layer in enumerate((layers or [[]] * len(alls))[i]):
            rows.append({"step": step, "layer": f"layer_{j}", **layer})
        rows.append({"step": step, "layer": ALL, "loss": 1.0, "nonfinite": 0, **whole})
    return rows


def raised(rows: list[dict]) -> dict[str, int]:
    return {f.name: f.step for f in evaluate(rows)}


def two_layers(low: float, top: float, n: int) -> list[list[dict]]:
    return [[{"grad_norm": low}, {"grad_norm": top}]] * n


@pytest.mark.parametrize(
    ("low", "n", "flagged"),
    [
        (0.99e-2, flags.VANISHING_PROBES, True),
        (1e-2, flags.VANISHING_PROBES, False),  # the boundary: not below the ratio
        (1e-4, flags.VANISHING_PROBES - 1, False),  # not for long enough
    ],
)
def test_vanishing_needs_the_lowest_layer_below_the_ratio_for_enough_probes(low, n, flagged):
    rows = probes(*[{}] * n, layers=two_layers(low, 1.0, n))
    assert ("vanishing" in raised(rows)) is flagged
    if flagged:
        assert raised(rows)["vanishing"] == 10 * (flags.VANISHING_PROBES - 1)


def test_vanishing_streak_restarts_after_a_healthy_probe():
    n = flags.VANISHING_PROBES
    layers = two_layers(1e-5, 1.0, n - 1) + two_layers(1.0, 1.0, 1) + two_layers(1e-5, 1.0, n)
    rows = probes(*[{}] * len(layers), layers=layers)
    assert raised(rows)["vanishing"] == 10 * (2 * n - 1)


def test_one_layer_never_vanishes():
    rows = probes(*[{}] * 5, layers=[[{"grad_norm": 1e-9}]] * 5)
    assert "vanishing" not in raised(rows)


def test_exploding_by_gradient_growth_at_the_boundary():
    n = flags.EXPLODING_PROBES
    grown = [{"grad_norm": 1.0}] + [{"grad_norm": flags.EXPLODING_GROWTH}] * n
    assert raised(probes(*grown))["exploding"] == 10 * n
    short = [{"grad_norm": 1.0}] + [{"grad_norm": flags.EXPLODING_GROWTH * 0.999}] * n
    assert "exploding" not in raised(probes(*short))


def test_exploding_by_update_ratio():
    n = flags.EXPLODING_PROBES
    assert "exploding" in raised(probes(*[{"update_ratio": flags.EXPLODING_RATIO}] * n))
    assert "exploding" not in raised(probes(*[{"update_ratio": 0.99}] * n))
    assert "exploding" not in raised(probes(*[{"update_ratio": 5.0}] * (n - 1)))


def test_stalled_below_the_ratio_for_enough_probes():
    n = flags.STALLED_PROBES
    assert raised(probes(*[{"update_ratio": 0.99e-5}] * n))["stalled"] == 10 * (n - 1)
    assert "stalled" not in raised(probes(*[{"update_ratio": 1e-5}] * n))
    assert "stalled" not in raised(probes(*[{"update_ratio": 1e-9}] * (n - 1)))
    assert "stalled" not in raised(probes(*[{"update_ratio": math.nan}] * n))  # unmeasured


def test_diverging_on_one_non_finite_probe_or_a_rising_loss():
    assert raised(probes({}, {}, {"nonfinite": 3}))["diverging"] == 20
    assert raised(probes({}, {"loss": math.nan}))["diverging"] == 10
    n = flags.DIVERGING_PROBES
    rising = [{"loss": 1.0}] + [{"loss": 2.01}] * n
    assert raised(probes(*rising))["diverging"] == 10 * n
    assert "diverging" not in raised(probes(*[{"loss": 1.0}] + [{"loss": 2.0}] * n))
    assert "diverging" not in raised(probes(*[{"loss": 1.0}] + [{"loss": 3.0}] * (n - 1)))


def test_a_healthy_run_raises_nothing():
    healthy = [
        {"grad_norm": 1.0 / (i + 1), "update_ratio": 1e-3, "loss": 2.0 - 0.1 * i} for i in range(8)
    ]
    assert raised(probes(*healthy, layers=two_layers(0.5, 1.0, 8))) == {}


def test_every_flag_has_a_rule_text_naming_its_thresholds():
    assert set(flags.RULES) == set(flags.FLAGS)
    assert "0.01" in flags.RULES["vanishing"][1] and "1e-05" in flags.RULES["stalled"][1]
