"""Test-only: the real `optbench` command with a fault delivered to itself at a chosen moment
of a job, so that tests/test_faults.py can check what each fault leaves in the store. The
product has no fault-injection code: this module wraps a few of its functions as they are
imported, and the wrappers send the signal.

    python -m tests.fault_job MOMENT SIGNAL [--to main|group] [--skip N] [--events FILE] \
        -- OVERRIDES...

MOMENT (MOMENTS): ``load`` inside optbench.data.load_dataset; ``first_epoch`` inside the first
iteration or epoch, before any step reached the metrics logger; ``mid_epoch`` inside an
iteration or epoch once the logger has written steps to the store (and, where it writes by
time, holds some more); ``evaluate`` the trainer's final evaluation (scikit-learn's
_final_metrics, the Keras trainer's test predict, the landscape trainer's end of loop); and
``flush`` the end-of-run flush in TrackedRun.__exit__. Where a step takes long enough, a
timer sends the signal a fraction of it in, so that it lands inside the framework's compute.

SIGNAL: SIGINT, SIGTERM or SIGKILL, sent to this process, which runs `optbench` in itself (a
job in a joblib worker signals it too); ``--to group`` sends it to this process's whole
process group instead, as a terminal's Ctrl-C does (start it in a session of its own). Run
it from the repository root, or with the root on PYTHONPATH.
``--skip N``: the first N jobs to reach the moment go on untouched (a sweep's earlier jobs).

``--events`` names a JSON-lines file where every process of the command records what the
test compares with the store: each step handed to optbench's MetricsLogger (run name, step,
time), each write the logger made, and the fault itself. Worker processes (joblib's, a fresh
process for another Keras backend) load the same wrappers through tests/fault_site's
sitecustomize, which this module puts on their PYTHONPATH."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ENV = "OPTBENCH_FAULT"  # the fault's settings, as JSON, for every process of the command
MOMENTS = ("load", "first_epoch", "mid_epoch", "evaluate", "flush")
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
REPO = Path(__file__).resolve().parents[1]
SITE = Path(__file__).resolve().parent / "fault_site"
FIRST_EPOCH_DELAY_S = 0.2  # into the first epoch: its length is not known yet
EVALUATE_DELAY_S = 0.02


@dataclass
class Fault:
    moment: str
    signal: str
    to: str  # "main": the optbench process; "group": its process group
    skip: int  # arrivals at the moment that go untouched
    events: str  # the JSON-lines file every process appends to
    main_pid: int


@dataclass
class RunState:
    """What the wrappers know about the job's run in this process (one at a time)."""

    name: str = ""
    kind: str = ""  # the trainer whose wrapper ran: sklearn | landscape | keras
    steps: int = 0  # handed to the metrics logger
    flushed_at: float | None = None  # monotonic time of the logger's last non-empty write
    every_s: float = 2.0  # the logger's tracking.flush_every_s
    durations: list[float] = field(default_factory=list)  # of the steps so far
    epoch_start: float = 0.0
    in_exit: bool = False  # inside TrackedRun.__exit__
    evaluating: bool = False  # Keras: fit is done, the test predict comes
    arrived: set[str] = field(default_factory=set)
    timer: threading.Timer | None = None


FAULT: Fault | None = None
STATE = RunState()


def record(event: str, **data: Any) -> None:
    """Append one event; unbuffered, so that it survives a kill -9 right after."""
    assert FAULT is not None
    line = json.dumps({"event": event, "pid": os.getpid(), "t": time.time(), **data})
    fd = os.open(FAULT.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def arrive(moment: str) -> bool:
    """Whether the fault fires now: this run reaches ``moment`` for the first time, and it is
    the arrival the fault waits for (counted across processes with exclusive files)."""
    if FAULT is None or moment != FAULT.moment or moment in STATE.arrived:
        return False
    STATE.arrived.add(moment)
    index = 0
    while True:
        try:
            os.close(os.open(f"{FAULT.events}.arrival-{index}", os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            index += 1
    record("arrive", run=STATE.name, moment=moment, index=index)
    return index == FAULT.skip


def fire() -> None:
    assert FAULT is not None
    record("fault", run=STATE.name, moment=FAULT.moment, signal=FAULT.signal, steps=STATE.steps)
    signum = SIGNALS[FAULT.signal]
    if FAULT.to == "group":
        os.killpg(os.getpgid(FAULT.main_pid), signum)
    else:
        os.kill(FAULT.main_pid, signum)


def start_timer(delay: float) -> None:
    STATE.timer = threading.Timer(max(delay, 0.0), fire)
    STATE.timer.daemon = True
    STATE.timer.start()


def join_timer() -> None:
    """Wait for a pending timer to fire: the signal lands within the step at the latest."""
    timer, STATE.timer = STATE.timer, None
    if timer is not None:
        timer.join()


def during(call: Callable[[], Any], delay: float) -> Any:
    """Run ``call`` with the fault arriving ``delay`` seconds into it (at once for 0)."""
    if delay <= 0:
        fire()
        return call()
    start_timer(delay)
    try:
        return call()
    finally:
        join_timer()


def half_a_step() -> float:
    return 0.5 * statistics.median(STATE.durations) if STATE.durations else 0.0


def written_and_buffering() -> bool:
    """Mid-epoch: the logger has written steps and, where it writes by time, holds new ones
    from the last half of its flush interval, so that both kinds are at stake. Keras writes
    every epoch, and steps of half an interval or more are written as they end: there the
    first write is enough."""
    if STATE.flushed_at is None:
        return False
    slow = STATE.durations and statistics.median(STATE.durations) >= STATE.every_s / 2
    return bool(
        STATE.kind == "keras" or slow or time.monotonic() - STATE.flushed_at >= STATE.every_s / 2
    )


# ---- wrappers, per module, installed as the module is imported ---------------------------


def _patch_data(module: ModuleType) -> None:
    load = module.load_dataset

    def load_dataset(cfg: Any, seed: int) -> Any:
        if arrive("load"):
            return during(lambda: load(cfg, seed), 0)
        return load(cfg, seed)

    module.load_dataset = load_dataset


def _patch_run(module: ModuleType) -> None:
    global STATE
    tracked, logger = module.TrackedRun, module.MetricsLogger
    enter, exit_, on_epoch_end, flush = (
        tracked.__enter__,
        tracked.__exit__,
        logger.on_epoch_end,
        logger.flush,
    )

    def __enter__(self: Any) -> Any:
        global STATE
        framework = self.framework
        STATE = RunState(name=self.cfg.run_name or module.default_run_name(self.cfg, framework))
        record("enter", run=STATE.name)
        return enter(self)

    def __exit__(self: Any, *exc: Any) -> Any:
        STATE.in_exit = True
        record("exit", run=STATE.name, exc=exc[0].__name__ if exc[0] else None)
        return exit_(self, *exc)

    def logger_on_epoch_end(self: Any, step: int, logs: dict[str, float]) -> None:
        STATE.steps += 1
        record("step", run=STATE.name, step=step)
        on_epoch_end(self, step, logs)

    def logger_flush(self: Any) -> None:
        STATE.every_s = self.every_s
        if STATE.in_exit and arrive("flush"):
            fire()
        pending = self.steps_pending
        flush(self)
        if pending:
            STATE.flushed_at = time.monotonic()
            record("flush", run=STATE.name, steps=pending)

    tracked.__enter__, tracked.__exit__ = __enter__, __exit__
    logger.on_epoch_end, logger.flush = logger_on_epoch_end, logger_flush


def _step(kind: str, call: Callable[[], Any], timed: bool) -> Any:
    """One iteration or step of a trainer's loop, timed, with first/mid-epoch faults; with
    ``timed`` the signal comes a fraction of the step in, else as it starts."""
    STATE.kind = kind
    start = time.perf_counter()
    try:
        if STATE.steps == 0 and arrive("first_epoch"):
            return during(call, FIRST_EPOCH_DELAY_S if timed else 0)
        if written_and_buffering() and arrive("mid_epoch"):
            return during(call, half_a_step() if timed else 0)
        return call()
    finally:
        STATE.durations.append(time.perf_counter() - start)


def _patch_sklearn(module: ModuleType) -> None:
    trainer = module.SklearnTrainer
    one_iteration, final_metrics = trainer._one_iteration, trainer._final_metrics

    def _one_iteration(self: Any, *args: Any) -> bool:
        return _step("sklearn", lambda: one_iteration(self, *args), timed=True)

    def _final_metrics(self: Any, *args: Any) -> dict:
        if arrive("evaluate"):
            return during(lambda: final_metrics(self, *args), EVALUATE_DELAY_S)
        return final_metrics(self, *args)

    trainer._one_iteration, trainer._final_metrics = _one_iteration, _final_metrics


def _patch_landscape(module: ModuleType) -> None:
    stepper = module.NumpyStepper
    step = stepper.step

    def numpy_step(self: Any, *args: Any) -> Any:
        return _step("landscape", lambda: step(self, *args), timed=False)  # microseconds

    stepper.step = numpy_step


def _patch_callbacks(module: ModuleType) -> None:
    """The landscape trainer has no test set: its evaluation is the end of the loop, the
    final metrics computed and about to be handed on (still buffered)."""
    callbacks = module.CallbackList
    on_train_end = callbacks.on_train_end

    def callbacks_on_train_end(self: Any, logs: dict[str, float]) -> None:
        if STATE.kind == "landscape" and arrive("evaluate"):
            fire()
        on_train_end(self, logs)

    callbacks.on_train_end = callbacks_on_train_end


def _patch_keras(module: ModuleType) -> None:
    bridge, trainer = module.EpochBridge, module.KerasTrainer
    begin, end, after_fit, predict = (
        bridge.on_epoch_begin,
        bridge.on_epoch_end,
        trainer.after_fit,
        module.predict,
    )

    def on_epoch_begin(self: Any, epoch: int, logs: Any = None) -> None:
        STATE.kind = "keras"
        STATE.epoch_start = time.perf_counter()
        begin(self, epoch, logs)
        if STATE.steps == 0 and arrive("first_epoch"):
            start_timer(FIRST_EPOCH_DELAY_S)
        elif written_and_buffering() and arrive("mid_epoch"):
            start_timer(half_a_step())

    def on_epoch_end(self: Any, epoch: int, logs: Any = None) -> None:
        STATE.durations.append(time.perf_counter() - STATE.epoch_start)
        join_timer()
        end(self, epoch, logs)

    def keras_after_fit(self: Any, *args: Any) -> Any:
        result = after_fit(self, *args)
        STATE.evaluating = True
        return result

    def keras_predict(*args: Any, **kwargs: Any) -> Any:
        if STATE.evaluating and arrive("evaluate"):
            return during(lambda: predict(*args, **kwargs), EVALUATE_DELAY_S)
        return predict(*args, **kwargs)

    bridge.on_epoch_begin, bridge.on_epoch_end = on_epoch_begin, on_epoch_end
    trainer.after_fit, module.predict = keras_after_fit, keras_predict


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "optbench.data": _patch_data,
    "optbench.tracking.run": _patch_run,
    "optbench.callbacks": _patch_callbacks,
    "optbench.trainers.sklearn": _patch_sklearn,
    "optbench.trainers.landscape": _patch_landscape,
    "optbench.trainers.keras_trainer": _patch_keras,
}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Wraps the functions of PATCHES' modules right after each module runs: the Keras
    trainer's module, for one, must not be imported before the job picks its backend."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            PATCHES[fullname](module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Read the fault from the environment and wrap PATCHES' modules (now, or on import)."""
    global FAULT
    if FAULT is not None or not os.environ.get(ENV):
        return
    FAULT = Fault(**json.loads(os.environ[ENV]))
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchOnImport())


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.fault_job", description=__doc__)
    parser.add_argument("moment", choices=MOMENTS)
    parser.add_argument("signal", choices=sorted(SIGNALS))
    parser.add_argument("--to", choices=("main", "group"), default="main")
    parser.add_argument("--skip", type=int, default=0)
    parser.add_argument("--events", default="fault-events.jsonl")
    split = argv.index("--") if "--" in argv else len(argv)
    args, overrides = parser.parse_args(argv[:split]), argv[split + 1 :]
    fault = Fault(
        args.moment, args.signal, args.to, args.skip, str(Path(args.events).absolute()), os.getpid()
    )
    os.environ[ENV] = json.dumps(fault.__dict__)
    path = [str(SITE), str(REPO), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, path))
    # as a terminal starts it: a shell that ran us in the background left Ctrl-C ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    install()
    sys.argv = ["optbench", *overrides]
    from optbench.cli import main as optbench

    optbench()


if __name__ == "__main__":
    main(sys.argv[1:])
