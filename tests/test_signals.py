"""SIGTERM as an interrupt inside the block, the handler put back after it, and a signal
remembered where a library swallows the KeyboardInterrupt it raised."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from optbench.signals import TERMINATED_EXIT, InterruptGuard, Terminated, sigterm_interrupts


@pytest.fixture(autouse=True)
def _handlers_restored():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_sigterm_inside_the_block_raises_terminated_a_keyboard_interrupt():
    assert TERMINATED_EXIT == 143 and issubclass(Terminated, KeyboardInterrupt)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated, match="received SIGTERM"), sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # bytecodes at which the handler runs
            pass
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_sigterm_stays_ignored():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with sigterm_interrupts():
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGTERM)  # ignored: nothing raised
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def job():
        with sigterm_interrupts():
            seen.append(signal.getsignal(signal.SIGTERM))
        with InterruptGuard() as guard:
            seen.append(guard._previous)

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen == [before, {}]


@pytest.mark.parametrize(
    "signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)]
)
def test_the_guard_remembers_a_swallowed_signal_and_raises_what_it_meant(signum, raised):
    with sigterm_interrupts(), InterruptGuard() as guard:
        guard.check()  # nothing received yet
        try:  # a library that catches the interrupt and only warns
            os.kill(os.getpid(), signum)
            for _ in range(1000):
                pass
        except KeyboardInterrupt:
            pass
        assert guard.received == signum
        with pytest.raises(raised) as info:
            guard.check()
    assert type(info.value) is raised
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_the_guard_keeps_the_first_signal():
    with sigterm_interrupts(), InterruptGuard() as guard:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signum)
                for _ in range(1000):
                    pass
        assert guard.received == signal.SIGTERM
        with pytest.raises(Terminated):
            guard.check()


def test_the_guard_leaves_a_handler_that_is_not_pythons_alone():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # dying at once: not the guard's to catch
    with InterruptGuard() as guard:
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) == guard._on_signal
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
