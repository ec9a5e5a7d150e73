"""SIGTERM as an interrupt. SLURM, Ray and `kill` send it to a job they preempt or cancel;
Python's default is to die at once, losing the metrics a run still buffers and leaving its
status to the MLflow helper. Raised as ``Terminated`` (a KeyboardInterrupt, as Ctrl-C) it
unwinds the same way: the run flushes its metrics and closes KILLED, a sweep closes KILLED.

``InterruptGuard`` remembers either signal where a library swallows the KeyboardInterrupt
(scikit-learn's MLP does, inside ``partial_fit``) so the loop can raise it again."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

TERMINATED_EXIT = 128 + signal.SIGTERM  # what a shell reports for a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _interrupt(signum: int, frame: Any) -> None:
    raise Terminated(f"received {signal.Signals(signum).name}")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated; a SIGTERM the process ignores stays
    ignored. Only the main thread runs signal handlers: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM) or signal.SIG_DFL  # None: set outside Python
    if previous == signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class InterruptGuard:
    """Remembers SIGINT and SIGTERM even when a library swallows the KeyboardInterrupt they
    raise (scikit-learn's stochastic MLP solver catches it and only warns), so that the loop
    stops after the current iteration with the exception the signal meant: ``check()`` raises
    Terminated for SIGTERM, KeyboardInterrupt for SIGINT. A signal whose handler is not a
    Python one (ignored, or SIGTERM's default of dying at once) is left alone."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first signal seen inside the block
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if callable(previous):  # Python's default_int_handler, or sigterm_interrupts'
                self._previous[signum] = previous
                signal.signal(signum, self._on_signal)
        return self

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.received is None:
            self.received = signum
        self._previous[signum](signum, frame)  # raises, as it would have without the guard

    def check(self) -> None:
        """Raise the interrupt a signal delivered inside the block meant, if any."""
        if self.received == signal.SIGTERM:
            raise Terminated(f"received {signal.Signals(self.received).name}")
        if self.received is not None:
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
