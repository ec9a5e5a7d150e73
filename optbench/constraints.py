"""Declarative parameter constraints for config dataclasses, in the spirit of scikit-learn's
``_parameter_constraints``: each field may carry one in its metadata, and ``check_dataclass``
walks a config object and reports the first violation with its full key."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from optbench.errors import OptbenchError


@dataclass(frozen=True)
class Interval:
    """A numeric range; ``integer`` also requires a whole number."""

    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right" or "neither"
    integer: bool = False

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return False
        if self.integer and float(value) != int(value):
            return False
        lo_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        hi_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return lo_ok and hi_ok

    def __str__(self) -> str:
        kind = "an integer" if self.integer else "a number"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else self._bound(self.low)
        high = "inf" if self.high is None else self._bound(self.high)
        return f"{kind} in {left}{low}, {high}{right}"

    def _bound(self, value: float) -> str:
        """An integer bound whole (a seed's 4294967295, not 4.29497e+09), a number short."""
        return str(int(value)) if self.integer and float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class OneOf:
    """A value from a fixed set."""

    options: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class AnyOf:
    """Any of several constraints (e.g. an integer batch size or the word 'full')."""

    constraints: tuple[Any, ...]

    def accepts(self, value: Any) -> bool:
        return any(c.accepts(value) for c in self.constraints)

    def __str__(self) -> str:
        return " or ".join(str(c) for c in self.constraints)


@dataclass(frozen=True)
class EachOf:
    """Every element of a list satisfies the inner constraint; the list is not empty unless
    ``allow_empty``."""

    inner: Any
    allow_empty: bool = False

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, list | tuple)
            and (len(value) > 0 or self.allow_empty)
            and all(self.inner.accepts(v) for v in value)
        )

    def __str__(self) -> str:
        return f"a {'' if self.allow_empty else 'non-empty '}list, each {self.inner}"


FRACTION = Interval(0, 1, "neither")  # a share of something: more than none, less than all


def constrained(default: Any, constraint: Any, *, nullable: bool = False) -> Any:
    """A dataclass field whose value must satisfy ``constraint`` (or be None if nullable)."""
    meta = {"constraint": constraint, "nullable": nullable}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def positive(default: Any, *, nullable: bool = False) -> Any:
    return constrained(default, Interval(0, None, "neither"), nullable=nullable)


def positive_int(default: Any, *, nullable: bool = False) -> Any:
    return constrained(default, Interval(1, None, integer=True), nullable=nullable)


def non_negative(default: Any, *, nullable: bool = False) -> Any:
    return constrained(default, Interval(0, None), nullable=nullable)


def check_dataclass(obj: Any, prefix: str = "") -> None:
    """Raise OptbenchError for the first field of ``obj`` (recursively) that breaks its constraint."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        constraint = f.metadata.get("constraint")
        if constraint is not None and not (
            (value is None and f.metadata.get("nullable")) or constraint.accepts(value)
        ):
            allowed = str(constraint) + (" (or null)" if f.metadata.get("nullable") else "")
            raise OptbenchError(f"{key}={value!r} is not allowed: must be {allowed}.")
        if dataclasses.is_dataclass(value):
            check_dataclass(value, prefix=f"{key}.")
    post_check: Callable[[], None] | None = getattr(obj, "check", None)
    if post_check is not None:
        post_check()
