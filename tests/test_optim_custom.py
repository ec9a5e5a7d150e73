"""optbench/optim/custom.py, optimizer=custom, in this process: the keywords a class takes
(following ``**kwargs`` up its bases, and stopping where they end), what it is built with, and
``resolve`` for each framework: a Keras optimizer or a reference rule from
tests/custom_optimizers/, with its source file and sha256, the keywords checked against the
class, a module found in the working directory, resolved once per target and keys. The command's
one-line refusals of a wrong target: tests/test_custom_optimizer.py."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import keras
import pytest

from optbench.errors import OptbenchError
from optbench.optim.custom import accepted_keywords, constructor_kwargs, resolve
from optbench.schema.optimizer import custom_config

USER_CODE = Path(__file__).parent / "custom_optimizers"


@pytest.fixture
def user_code(monkeypatch):
    monkeypatch.syspath_prepend(str(USER_CODE))


def custom(target: str, **keys):
    return custom_config({"name": "custom", "target": target, **keys})


class Base:
    def __init__(self, a, *, b=1):
        pass


class Middle(Base):
    def __init__(self, c, *args, **kwargs):
        super().__init__(*args, **kwargs)


class Inherits(Middle):
    pass


class Closed(Base):
    def __init__(self, d):
        super().__init__(d)


def test_accepted_keywords_follow_kwargs_up_the_bases_and_stop_where_they_end():
    assert accepted_keywords(Inherits) == accepted_keywords(Middle) == {"a", "b", "c"}
    assert accepted_keywords(Closed) == {"d"}  # no **kwargs: Base's keywords never arrive
    assert accepted_keywords(Base) == {"a", "b"}


def test_a_keras_optimizer_takes_keras_shared_keywords_through_its_kwargs(user_code):
    from sign_descent import SignDescent

    accepted = accepted_keywords(SignDescent)
    assert {"learning_rate", "beta", "name"} <= accepted  # its own
    assert {"weight_decay", "clipnorm", "global_clipnorm", "use_ema"} <= accepted  # Keras's
    assert "self" not in accepted


def test_the_class_is_built_with_the_shared_settings_that_are_set_then_the_users_keys():
    assert constructor_kwargs(custom("m:C")) == {}
    opt = custom("m:C", clipnorm=2.0, weight_decay=0.01, beta=0.5, gamma=[1, 2])
    want = {"weight_decay": 0.01, "clipnorm": 2.0, "beta": 0.5, "gamma": [1, 2]}
    assert constructor_kwargs(opt) == want
    ema = custom("m:C", use_ema=True, ema_momentum=0.9)
    assert constructor_kwargs(ema) == {"use_ema": True, "ema_momentum": 0.9}


def test_a_keras_target_resolves_to_its_class_and_source_file(user_code):
    target = resolve(custom("sign_descent:SignDescent", beta=0.9, clipnorm=1.0), "keras")
    assert issubclass(target.cls, keras.optimizers.Optimizer)
    assert target.cls.__name__ == "SignDescent"
    source = USER_CODE / "sign_descent.py"
    assert target.source == source
    assert target.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_a_numpy_target_must_be_a_reference_rule_taking_the_keys(user_code):
    target = resolve(custom("sign_descent:SignRule", beta=0.5), "numpy")
    assert target.cls.__name__ == "SignRule" and target.source == USER_CODE / "sign_descent.py"
    with pytest.raises(OptbenchError, match=r"sign_descent:SignDescent is not a reference rule"):
        resolve(custom("sign_descent:SignDescent"), "numpy")  # a Keras optimizer has no update
    with pytest.raises(
        OptbenchError,
        match=r"^optimizer.gamma: SignRule does not take the keyword gamma; it takes: beta\.$",
    ):
        resolve(custom("sign_descent:SignRule", gamma=1), "numpy")


def test_the_shared_settings_are_keywords_a_numpy_rule_need_not_take(user_code):
    """The landscape's ReferenceOptimizer applies clipping and decay itself: only the user's
    keys go to the rule."""
    assert (
        resolve(custom("sign_descent:SignRule", clipnorm=1.0), "numpy").cls.__name__ == "SignRule"
    )


def test_a_module_in_the_working_directory_is_found_and_resolved_once_per_keys(
    tmp_path, monkeypatch
):
    name = f"optbench_custom_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "class Rule:\n    def __init__(self, k=1):\n        pass\n\n"
        "    def init(self, w):\n        return {}\n\n    def update(self, g, w, state, lr, t):\n"
        "        return w - lr * g\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        first = resolve(custom(f"{name}:Rule", k=2), "numpy")
        again = resolve(custom(f"{name}:Rule", k=3), "numpy")  # the same keys: cached
        assert first is again and first.source == tmp_path / f"{name}.py"
        assert str(tmp_path) in sys.path
    finally:
        sys.modules.pop(name, None)
