"""The optimizer's side of the compatibility rules, called directly with the model registry:
each refusal names the setting and what would work."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from optbench.errors import OptbenchError
from optbench.models.registry import MODELS
from optbench.optim import rules


def sk(model="mlp_sklearn", opt="sgd", schedule="constant", **extra):
    model_ns = NS(name=model, l1_ratio=extra.pop("l1_ratio", 0))
    return model_ns, NS(name=opt, **extra), NS(name=schedule)


def refusal(call, *args) -> str:
    with pytest.raises(OptbenchError) as info:
        call(*args)
    return str(info.value)


def test_scikit_learn_takes_its_models_own_optimizers_and_schedules():
    rules.check_sklearn_optimizer(*sk("mlp_sklearn", "sgd", "invscaling"), MODELS)
    rules.check_sklearn_optimizer(*sk("mlp_sklearn", "adam", "constant"), MODELS)
    rules.check_sklearn_optimizer(*sk("logreg", "saga", l1_ratio=0.5), MODELS)
    assert refusal(rules.check_sklearn_optimizer, *sk("mlp"), MODELS) == (
        "model=mlp is not a scikit-learn model."
    )
    assert refusal(rules.check_sklearn_optimizer, *sk("logreg", "adam"), MODELS) == (
        "model=logreg cannot be trained with optimizer=adam; it accepts: saga, sag, lbfgs."
    )
    assert refusal(rules.check_sklearn_optimizer, *sk("mlp_sklearn", "adagrad"), MODELS) == (
        "model=mlp_sklearn cannot be trained with optimizer=adagrad; it accepts: adam, sgd, "
        "momentum, nesterov."
    )
    assert refusal(rules.check_sklearn_optimizer, *sk("logreg", "custom"), MODELS).startswith(
        "optimizer=custom: model=logreg trains in scikit-learn, which takes no custom optimizer"
    )


def test_keras_only_extras_and_schedules_are_refused_in_scikit_learn():
    assert refusal(rules.check_sklearn_optimizer, *sk(weight_decay=0.01), MODELS) == (
        "optimizer.weight_decay=0.01 is not available in scikit-learn (model=mlp_sklearn); use "
        "a Keras model (e.g. model=mlp) or model.alpha for L2."
    )
    rules.check_sklearn_optimizer(*sk(weight_decay=None, amsgrad=False), MODELS)  # off
    assert refusal(rules.check_sklearn_optimizer, *sk(opt="adam", schedule="invscaling"),
                   MODELS) == (
        "schedule=invscaling is not available for model=mlp_sklearn optimizer=adam; "
        "scikit-learn offers invscaling, adaptive for model=mlp_sklearn optimizer=sgd only "
        "(use schedule=constant)."
    )  # fmt: skip
    assert refusal(rules.check_sklearn_optimizer, *sk("logreg", "lbfgs", l1_ratio=0.5),
                   MODELS) == (
        "model.l1_ratio=0.5 (L1 / elastic-net penalty) needs optimizer=saga; lbfgs supports "
        "only the L2 penalty (l1_ratio=0)."
    )  # fmt: skip


def test_a_full_batch_solver_takes_no_batch_size():
    model, opt, schedule = sk("logreg", "lbfgs")
    cfg = NS(model=model, optimizer=opt, schedule=schedule, trainer=NS(batch_size=32))
    assert refusal(rules.check_sklearn, cfg, MODELS).startswith(
        "trainer.batch_size=32 does not apply to optimizer=lbfgs on model=logreg"
    )
    cfg.trainer.batch_size = "auto"
    rules.check_sklearn(cfg, MODELS)
    cfg = NS(model=NS(name="mlp_sklearn", l1_ratio=0), optimizer=NS(name="sgd"),
             schedule=NS(name="constant"), trainer=NS(batch_size=32))  # fmt: skip
    rules.check_sklearn(cfg, MODELS)  # a stochastic solver: its batch size


def test_keras_needs_a_keras_class_for_the_optimizer_or_the_wrappers_base():
    rules.require_keras_optimizer(NS(name="adamw"))
    rules.require_keras_optimizer(NS(name="sam", base="adam"))
    message = refusal(rules.require_keras_optimizer, NS(name="sam", base="lbfgs"))
    assert message.startswith("optimizer=lbfgs has no Keras implementation; available: adafactor,")
    assert message.endswith(", sam.")
    assert refusal(rules.require_keras_optimizer, NS(name="saga")).startswith(
        "optimizer=saga has no Keras implementation"
    )


def test_a_scikit_learn_solver_and_a_train_step_optimizer_are_refused_where_keras_cannot():
    cfg = NS(model=NS(name="mlp"), optimizer=NS(name="lbfgs"), schedule=NS(name="constant"))
    assert refusal(rules.check_keras, cfg, MODELS).startswith(
        "optimizer=lbfgs is a scikit-learn solver; model=mlp with Keras takes: sgd, momentum,"
    )
    cfg = NS(model=NS(name="landscape"), optimizer=NS(name="sam", base="sgd"),
             schedule=NS(name="constant"))  # fmt: skip
    assert refusal(rules.check_keras, cfg, MODELS) == (
        "optimizer=sam needs a model's train_step (two gradients of a loss on data); it is "
        "not available for model=landscape."
    )


def test_the_numpy_reference_refuses_what_it_does_not_implement():
    rules.check_reference(NS(name="adam", amsgrad=False), NS(name="cosine"))
    assert refusal(rules.check_reference, NS(name="muon"), NS(name="constant")).startswith(
        "optimizer=muon has no NumPy reference implementation (those are: sgd, momentum,"
    )
    assert refusal(rules.check_reference, NS(name="adam", amsgrad=True), NS(name="constant")) == (
        "optimizer.amsgrad=True is not in the NumPy reference optimizers; use "
        "model.implementation=keras."
    )
    assert refusal(rules.check_reference, NS(name="sgd"), NS(name="exponential")) == (
        "schedule=exponential is not in the NumPy reference optimizers (constant, cosine); use "
        "model.implementation=keras."
    )
    cfg = NS(optimizer=NS(name="rmsprop", centered=True), schedule=NS(name="constant"))
    assert refusal(rules.check_numpy, cfg, MODELS).startswith("optimizer.centered=True")
    assert set(rules.FRAMEWORK_CHECKS) == {"sklearn", "keras", "numpy"}
