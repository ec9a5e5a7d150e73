"""SIGTERM as an interrupt. SLURM, Ray and `kill` send it to a job they preempt or cancel;
Python's default is to die at once, losing the metrics a run still buffers and leaving its
status to the MLflow helper. Raised as ``Terminated`` (a KeyboardInterrupt, as Ctrl-C) it
unwinds the same way: the run flushes its metrics and closes KILLED, a sweep closes KILLED."""

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
