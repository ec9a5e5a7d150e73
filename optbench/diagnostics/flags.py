"""The flags: rules over a run's diagnostic rows that name a failure while it happens. Each rule
is stated once, here; docs/diagnostics.md quotes them and tests/test_diagnostics_flags.py
holds each to a case on either side of its threshold.

- vanishing: the lowest trained layer's gradient norm is below ``VANISHING_RATIO`` x the top
  layer's, at ``VANISHING_PROBES`` probes in a row (Glorot & Bengio, 2010: the gradients of
  the layers nearest the input shrink by orders of magnitude in deep sigmoid networks);
- exploding: the gradient norm is ``EXPLODING_GROWTH`` x its first probe's or more, or a
  step is as large as the weights it moves (update/weight ratio >= ``EXPLODING_RATIO``), at
  ``EXPLODING_PROBES`` probes in a row;
- stalled: the update/weight ratio is below ``STALLED_RATIO`` (two orders of magnitude under
  the ~1e-3 a healthy step takes) at ``STALLED_PROBES`` probes in a row;
- diverging: a non-finite loss, gradient or weight, or a probe loss above both
  ``DIVERGING_FACTOR`` x its lowest so far and its first value, at ``DIVERGING_PROBES`` probes
  in a row (the first value too: a loss that converges to 0 and oscillates there doubles its
  lowest without diverging)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from optbench.diagnostics.stats import ALL

VANISHING_RATIO, VANISHING_PROBES = 1e-2, 3
EXPLODING_GROWTH, EXPLODING_RATIO, EXPLODING_PROBES = 10.0, 1.0, 2
STALLED_RATIO, STALLED_PROBES = 1e-5, 5
DIVERGING_FACTOR, DIVERGING_PROBES = 2.0, 3

FLAGS = ("vanishing", "exploding", "stalled", "diverging")


@dataclass(frozen=True)
class Flag:
    name: str
    step: int  # the optimizer step of the probe that completed the rule
    rule: str

    def __str__(self) -> str:
        return f"{self.name} at step {self.step} ({self.rule})"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _first_run(steps: Sequence[int], hits: Sequence[bool], probes: int) -> int | None:
    """The step at which ``hits`` has been true for ``probes`` probes in a row, first."""
    streak = 0
    for step, hit in zip(steps, hits, strict=True):
        streak = streak + 1 if hit else 0
        if streak >= probes:
            return step
    return None


def _vanishing(steps: list[int], whole: list[dict], layers: list[list[dict]]) -> int | None:
    if len(layers) < 2:
        return None
    hits = [
        _finite(lo.get("grad_norm")) and _finite(hi.get("grad_norm")) and hi["grad_norm"] > 0
        and lo["grad_norm"] < VANISHING_RATIO * hi["grad_norm"]
        for lo, hi in zip(layers[0], layers[-1], strict=True)
    ]  # fmt: skip
    return _first_run(steps, hits, VANISHING_PROBES)


def _exploding(steps: list[int], whole: list[dict], layers: list[list[dict]]) -> int | None:
    first = next((r["grad_norm"] for r in whole if _finite(r.get("grad_norm"))), None)
    hits = []
    for r in whole:
        grown = first is not None and first > 0 and _finite(r.get("grad_norm"))
        grown = grown and r["grad_norm"] >= EXPLODING_GROWTH * first
        big_step = _finite(r.get("update_ratio")) and r["update_ratio"] >= EXPLODING_RATIO
        hits.append(bool(grown or big_step))
    return _first_run(steps, hits, EXPLODING_PROBES)


def _stalled(steps: list[int], whole: list[dict], layers: list[list[dict]]) -> int | None:
    hits = [_finite(r.get("update_ratio")) and r["update_ratio"] < STALLED_RATIO for r in whole]
    return _first_run(steps, hits, STALLED_PROBES)


def _broken(row: dict) -> bool:
    loss = row.get("loss")
    return row.get("nonfinite", 0) > 0 or (loss is not None and not _finite(loss))


def _diverging(steps: list[int], whole: list[dict], layers: list[list[dict]]) -> int | None:
    lowest, rising = math.inf, []
    first = next((r["loss"] for r in whole if _finite(r.get("loss"))), math.nan)
    for r in whole:
        loss = r.get("loss")
        if _finite(loss):
            lowest = min(lowest, loss)
        # above where it started too: near a minimum of 0, an oscillation doubles the loss
        rising.append(_finite(loss) and lowest > 0 and loss > max(DIVERGING_FACTOR * lowest, first))
    found = [
        s
        for s in (_first_run(steps, rising, DIVERGING_PROBES), _first_run(steps, [_broken(r) for r in whole], 1))
        if s is not None
    ]  # fmt: skip
    return min(found) if found else None


RULES: dict[str, tuple[Callable, str]] = {
    "vanishing": (
        _vanishing,
        f"lowest layer's gradient norm < {VANISHING_RATIO:g} x the top layer's for "
        f"{VANISHING_PROBES} probes",
    ),
    "exploding": (
        _exploding,
        f"gradient norm >= {EXPLODING_GROWTH:g} x its first value, or update/weight ratio >= "
        f"{EXPLODING_RATIO:g}, for {EXPLODING_PROBES} probes",
    ),
    "stalled": (_stalled, f"update/weight ratio < {STALLED_RATIO:g} for {STALLED_PROBES} probes"),
    "diverging": (
        _diverging,
        f"a non-finite value, or the probe loss > {DIVERGING_FACTOR:g} x its lowest and > its "
        f"first for {DIVERGING_PROBES} probes",
    ),
}


def evaluate(rows: Sequence[dict[str, Any]]) -> list[Flag]:
    """The flags ``rows`` (one probe after another; each probe one ``ALL`` row and one row per
    layer, input side first) raise, each with the step it was first raised at."""
    whole = [r for r in rows if r["layer"] == ALL]
    names = list(dict.fromkeys(r["layer"] for r in rows if r["layer"] != ALL))
    by_step = {(r["step"], r["layer"]): r for r in rows}
    layers = [[by_step.get((w["step"], n), {}) for w in whole] for n in names]
    steps = [w["step"] for w in whole]
    flags = []
    for name, (rule, text) in RULES.items():
        step = rule(steps, whole, layers)
        if step is not None:
            flags.append(Flag(name, step, text))
    return flags
