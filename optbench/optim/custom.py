"""Your own optimizer (optimizer=custom): ``optimizer.target`` names a class as
``package.module:ClassName``, importable from the working directory or PYTHONPATH, and every
other key under ``optimizer.`` goes to its constructor.

Keras models take a ``keras.optimizers.Optimizer`` subclass; the NumPy landscape trainer takes
a rule with the reference protocol (``init(w) -> state``, ``update(g, w, state, lr, t) -> w``,
optbench/optim/reference.py). Everything that can be wrong with the target is found by
``resolve`` before any work, with one line naming the key, the value and what is allowed; the
run records the class's source file and its sha256 so that ``optbench reproduce`` can tell
when the code has changed since."""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optbench.errors import OptbenchError


@dataclass(frozen=True)
class Target:
    cls: type
    source: Path | None  # the file that defines it (None: built in, or no file)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.read_bytes()).hexdigest() if self.source else ""


def _import(target: str) -> type:
    module, _, name = target.partition(":")
    if not module or not name:
        raise OptbenchError(
            f"optimizer.target={target!r} is not allowed: must be package.module:ClassName."
        )
    cwd = os.getcwd()  # the console script, unlike python -m, leaves it off sys.path
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise OptbenchError(
            f"optimizer.target={target}: module {module} cannot be imported from the working "
            f"directory or PYTHONPATH ({exc})."
        ) from None
    try:
        return getattr(loaded, name)
    except AttributeError:
        raise OptbenchError(
            f"optimizer.target={target}: module {module} ({loaded.__file__}) has no {name}."
        ) from None


def accepted_keywords(cls: type) -> set[str]:
    """The keywords ``cls(...)`` takes, following ``**kwargs`` up the class hierarchy (Keras's
    base optimizer refuses any it does not know)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def constructor_kwargs(opt: Any) -> dict[str, Any]:
    """What the class is built with, besides the learning rate: the shared settings that are
    set, then the user's keys."""
    shared = {
        k: getattr(opt, k)
        for k in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
        if getattr(opt, k) is not None
    }
    if opt.use_ema:
        shared.update(use_ema=True, ema_momentum=opt.ema_momentum)
    return {**shared, **opt.kwargs}


def resolve(opt: Any, framework: str) -> Target:
    """The class ``opt.target`` names, checked for ``framework`` ('keras' or 'numpy').

    A run asks three times (its trainer before any work, the optimizer's construction, the
    source file it logs); the import and checks run once."""
    keys = ("learning_rate", *constructor_kwargs(opt)) if framework == "keras" else opt.kwargs
    return _resolved(opt.target, framework, tuple(keys))


@functools.lru_cache(maxsize=64)
def _resolved(target: str, framework: str, keywords: tuple[str, ...]) -> Target:
    cls = _import(target)
    if framework == "keras":
        import keras

        if not (isinstance(cls, type) and issubclass(cls, keras.optimizers.Optimizer)):
            raise OptbenchError(
                f"optimizer.target={target} is not a keras.optimizers.Optimizer subclass "
                "(Keras models take one)."
            )
    elif not (isinstance(cls, type) and callable(getattr(cls, "update", None))):
        raise OptbenchError(
            f"optimizer.target={target} is not a reference rule: model=landscape takes "
            "a class with init(w) -> state and update(g, w, state, lr, t) -> w "
            "(optbench/optim/reference.py)."
        )
    accepted = accepted_keywords(cls)
    unknown = [k for k in keywords if k not in accepted]
    if unknown:
        raise OptbenchError(
            f"optimizer.{unknown[0]}: {cls.__name__} does not take the keyword {unknown[0]}; "
            f"it takes: {', '.join(sorted(accepted)) or 'none'}."
        )
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        source = None
    return Target(cls, Path(source) if source else None)
