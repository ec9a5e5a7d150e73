"""Declarative field constraints: what each accepts, how it reads in a message, and the first
violation reported with its full key."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from optbench.constraints import (
    FRACTION,
    AnyOf,
    EachOf,
    Interval,
    OneOf,
    check_dataclass,
    constrained,
    non_negative,
    positive,
    positive_int,
)
from optbench.errors import OptbenchError


def test_an_interval_honours_its_closed_ends_and_refuses_non_numbers():
    assert Interval(0, 1).accepts(0) and Interval(0, 1).accepts(1)
    assert not Interval(0, 1, "left").accepts(1) and Interval(0, 1, "left").accepts(0)
    assert not Interval(0, 1, "right").accepts(0) and Interval(0, 1, "right").accepts(1)
    assert not FRACTION.accepts(0) and not FRACTION.accepts(1) and FRACTION.accepts(0.5)
    assert Interval(None, None).accepts(-1e300)
    for value in (True, "1", None, math.nan, [1]):
        assert not Interval().accepts(value), value
    assert Interval(1, None, integer=True).accepts(3.0)
    assert not Interval(1, None, integer=True).accepts(2.5)


@pytest.mark.parametrize(
    "constraint, text",
    [
        (Interval(0, 1), "a number in [0, 1]"),
        (FRACTION, "a number in (0, 1)"),
        (Interval(0, None, "neither"), "a number in (0, inf)"),
        (Interval(1, None, integer=True), "an integer in [1, inf)"),
        (Interval(None, 0.5, "right"), "a number in (-inf, 0.5]"),
        (OneOf(("val_loss", "val_accuracy")), "one of 'val_loss', 'val_accuracy'"),
        (AnyOf((Interval(1, None, integer=True), OneOf(("full",)))),
         "an integer in [1, inf) or one of 'full'"),
        (EachOf(Interval(0, None)), "a non-empty list, each a number in [0, inf)"),
        (EachOf(OneOf((1, 2)), allow_empty=True), "a list, each one of 1, 2"),
    ],
)  # fmt: skip
def test_each_constraint_reads_as_the_message_says(constraint, text):
    assert str(constraint) == text


def test_one_of_any_of_and_each_of_accept_what_they_name():
    batch = AnyOf((Interval(1, None, integer=True), OneOf(("full",))))
    assert batch.accepts(32) and batch.accepts("full") and not batch.accepts("auto")
    assert not batch.accepts(0)
    assert EachOf(Interval(0, None)).accepts([0, 1.5]) and EachOf(Interval(0, None)).accepts((2,))
    assert not EachOf(Interval(0, None)).accepts([])
    assert EachOf(Interval(0, None), allow_empty=True).accepts([])
    assert not EachOf(Interval(0, None)).accepts([1, -1])
    assert not EachOf(Interval(0, None)).accepts(1)  # not a list


@dataclass
class Inner:
    rate: float = positive(0.1)
    steps: int = positive_int(1, nullable=True)


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    decay: float = non_negative(0.0)
    milestones: list = constrained([1, 2], EachOf(Interval(1, None, integer=True)))
    checked: list = field(default_factory=list)

    def check(self) -> None:
        self.checked.append("checked")
        if self.decay > 1:
            raise OptbenchError("decay above 1 needs a reason")


def test_the_first_violation_is_reported_with_its_full_key_and_what_is_allowed():
    with pytest.raises(OptbenchError) as info:
        check_dataclass(Outer(inner=Inner(rate=0)))
    assert str(info.value) == "inner.rate=0 is not allowed: must be a number in (0, inf)."
    with pytest.raises(OptbenchError) as info:
        check_dataclass(Outer(inner=Inner(steps=0)), prefix="model.")
    assert str(info.value) == (
        "model.inner.steps=0 is not allowed: must be an integer in [1, inf) (or null)."
    )
    with pytest.raises(OptbenchError) as info:
        check_dataclass(Outer(decay=-0.5))
    assert str(info.value) == "decay=-0.5 is not allowed: must be a number in [0, inf)."
    with pytest.raises(OptbenchError, match=r"^milestones=\[1, 0\] is not allowed: must be a "):
        check_dataclass(Outer(milestones=[1, 0]))


def test_null_passes_only_a_nullable_field_and_the_cross_field_check_runs_last():
    ok = Outer(inner=Inner(steps=None))
    check_dataclass(ok)
    assert ok.checked == ["checked"]
    with pytest.raises(OptbenchError, match=r"^inner\.rate=None is not allowed"):
        check_dataclass(Outer(inner=Inner(rate=None)))
    with pytest.raises(OptbenchError, match="decay above 1 needs a reason"):
        check_dataclass(Outer(decay=2.0))  # within its range; refused by check()


def test_a_list_default_is_copied_for_each_instance():
    a, b = Outer(), Outer()
    a.milestones.append(3)
    assert b.milestones == [1, 2]
