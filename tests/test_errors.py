"""User-facing errors (optbench/errors.py): ``grouped`` says a reason shared by several jobs or
workloads once, after all their names; ``Refused`` is a SystemExit with USER_ERROR_EXIT, which
Hydra's callbacks cannot turn into a warning; ``OptbenchError``, a job's error, is an Exception."""

from __future__ import annotations

import pytest

from optbench.errors import USER_ERROR_EXIT, OptbenchError, Refused, grouped


def test_a_shared_reason_is_said_once_after_all_its_names():
    refusals = [
        ("optimizer=sgd", "needs a GPU."),
        ("optimizer=adam", "not in the registry"),
        ("optimizer=lion", "needs a GPU"),  # the same reason, without its full stop
    ]
    assert grouped(refusals) == (
        "optimizer=sgd, optimizer=lion: needs a GPU; optimizer=adam: not in the registry."
    )


def test_one_refusal_is_one_sentence():
    assert grouped([("mnist_mlp", "no target yet.")]) == "mnist_mlp: no target yet."


def test_refused_exits_with_the_user_error_code_and_keeps_its_message():
    assert USER_ERROR_EXIT == 2
    with pytest.raises(SystemExit) as exited:
        raise Refused("optimizer=adma is not an option of optimizer")
    assert exited.value.code == USER_ERROR_EXIT
    assert exited.value.message == "optimizer=adma is not an option of optimizer"
    assert not issubclass(Refused, Exception)  # Hydra's callbacks let it through
    assert not issubclass(OptbenchError, SystemExit)  # a job's error: the job fails, not the CLI
