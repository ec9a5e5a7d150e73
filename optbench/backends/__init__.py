"""The Keras backends (hardware.backend): one module here per backend, the only code in optbench
that imports TensorFlow, JAX or PyTorch (an import contract in pyproject.toml keeps it so).

Each module is a ``Backend``: it configures devices and precision, says what it cannot do
(``LIMITS``), feeds ``model.fit``, takes gradients (``value_and_grad``) and Hessian-vector products (``hvp``), runs a step written
against variables (``stateful_step``, for JAX's stateless train step), compiles a function of a
model, resets and reports its versions. Every framework import inside them is lazy, so this
package can list and check backends without loading one. Adding a backend is adding its module
here: ``BACKENDS`` is read from the files, and the schema, the rules and the trainer take it."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from optbench import tags as tag
from optbench.errors import OptbenchError

log = logging.getLogger(__name__)

DEFAULT = "tensorflow"
# the default first, then the rest by name; a module whose name starts with _ is no backend
BACKENDS = (
    DEFAULT,
    *sorted(
        m.name for m in pkgutil.iter_modules(__path__) if m.name[0] != "_" and m.name != DEFAULT
    ),
)


@dataclass
class Setup:
    """What the trainer needs from the hardware: a scope to build the model in, whether to
    compile the step, and what to record."""

    scope: Callable[[], Any] = contextlib.nullcontext  # the tf.distribute strategy's scope
    jit_compile: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    replicas: int = 1


class Backend(Protocol):
    """One Keras backend. ``hw`` is a hardware config (schema/hardware.py); ``model`` a built
    keras.Model on this backend."""

    # what it cannot do: (hardware option, value) -> why, as the refusal says it
    LIMITS: dict[tuple[str, Any], str]

    def before_import(self, hw: Any) -> None:
        """Settings the framework reads once, when it loads (environment variables)."""

    def configure(self, hw: Any) -> Setup:
        """Devices, threads, determinism and several GPUs, after Keras loaded."""
        ...

    def input_pipeline(self, x: Any, y: Any, batch_size: int, seed: int) -> dict[str, Any]:
        """model.fit's data arguments for a shuffled pass over (x, y) per epoch."""
        ...

    def value_and_grad(
        self, model: Any, loss_fn: Callable, x: Any, y: Any, *, training: bool = False,
        has_aux: bool = False,
    ) -> tuple[Any, list]:  # fmt: skip
        """(loss_fn(y, model(x)), its gradient w.r.t. model.trainable_variables, in order),
        without changing a trainable weight; with ``has_aux`` loss_fn returns (loss, aux) and
        the first item is that pair."""
        ...

    def hvp(self, model: Any, loss_fn: Callable, x: Any, y: Any, vectors: list) -> list:
        """The Hessian of loss_fn(y, model(x, training=False)) w.r.t. the trainable variables
        times ``vectors`` (one tensor per variable), by differentiating the gradient: exact,
        no finite differences; no weight changes."""
        ...

    def stateful_step(self, model: Any, step: Callable, *args: Any) -> Any:
        """Keras's train_step(*args) through ``step(model, data)``, which assigns variables."""
        ...

    def apply(self, optimizer: Any, grads: list, variables: list) -> None:
        """optimizer.apply(grads, variables), inside ``stateful_step``."""

    def compile(self, model: Any, fn: Callable) -> Callable:
        """``fn`` (reading ``model``'s current weights at each call) compiled where it pays."""
        ...

    def reset(self) -> None:
        """Back to no distribution for whatever runs next in this process."""

    def versions(self) -> dict[str, str]:
        """The installed distributions this backend runs on, by name."""
        ...


def get(name: str) -> Backend:
    """The module of backend ``name`` (one of BACKENDS); loads no framework."""
    return cast(Backend, importlib.import_module(f"{__name__}.{name}"))


def check(hw: Any) -> None:
    """The Keras backend is installed and can honour every hardware option."""
    for (option, value), why in get(hw.backend).LIMITS.items():
        if getattr(hw, option, None) == value:
            raise OptbenchError(
                f"hardware.{option}={str(value).lower()} with hardware.backend={hw.backend}: {why}."
            )
    if importlib.util.find_spec(hw.backend) is None:
        raise OptbenchError(
            f"hardware.backend={hw.backend}: {hw.backend} is not installed in this "
            f"environment; pip install -e '.[{hw.backend}]' (README: Keras backends)."
        )


def no_gpu(hw: Any, setup: Setup, backend: str, probe: str) -> None:
    """A GPU was asked for and ``backend`` sees none: an error, or with fallback=cpu a note."""
    wanted = f"hardware={hw.name}"
    if hw.fallback != "cpu":
        raise OptbenchError(
            f"{wanted} needs a GPU, but {backend} sees none ({probe} is empty). Use "
            "hardware=cpu, or hardware.fallback=cpu to run on the CPU with a warning."
        )
    setup.notes.append(f"{wanted}: no GPU visible, running on the CPU (hardware.fallback=cpu).")
    setup.tags[tag.HARDWARE_FALLBACK] = "cpu"
    log.warning(setup.notes[-1])


def set_random_seed(seed: int) -> None:
    """keras.utils.set_random_seed (Python, NumPy, Keras's seed generator, torch), without
    loading TensorFlow where Keras does not run on it. Keras seeds TensorFlow whenever it is
    installed, for tf.data pipelines; a JAX or PyTorch run feeds arrays (``array_pipeline``),
    so loading TensorFlow only for that cost ~2 s of every such run (bench_startup; the same
    histories to the bit without it: tests/test_backends.py). Once TensorFlow is loaded, it
    is seeded as Keras does."""
    import sys

    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    from keras.src.utils.module_utils import tensorflow  # the lazy module Keras seeds

    available = tensorflow._available
    tensorflow._available = False  # what Keras reads to decide whether to seed TensorFlow
    try:
        keras.utils.set_random_seed(seed)
    finally:
        tensorflow._available = available


def array_pipeline(x: Any, y: Any, batch_size: int, seed: int) -> dict[str, Any]:
    """The arrays: Keras batches and shuffles them (seeded by keras.utils.set_random_seed); the
    input pipeline of a backend without its own (JAX, torch)."""
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True}


def distribution_versions(*names: str) -> dict[str, str]:
    """The installed versions of the distributions ``names``; those not installed are left out."""
    from importlib import metadata

    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found
