"""User-facing errors: the CLI prints them without a traceback and exits with USER_ERROR_EXIT."""

USER_ERROR_EXIT = 2


def grouped(refusals: list[tuple[str, str]]) -> str:
    """'a, b: why; c: why else' from (what, why) pairs: a message shared by several jobs or
    workloads is said once, after all their names."""
    by_reason: dict[str, list[str]] = {}
    for what, why in refusals:
        by_reason.setdefault(why.rstrip("."), []).append(what)
    return "; ".join(f"{', '.join(names)}: {why}" for why, names in by_reason.items()) + "."


class OptbenchError(Exception):
    """A mistake in the user's config, data or environment, with what is allowed instead."""


class Refused(SystemExit):
    """A user error found outside a job (Hydra's composition, a sweep's check of every job, the
    tracking store), before any work started: the CLI prints ``message`` and exits
    USER_ERROR_EXIT. A SystemExit, because Hydra turns a callback's Exception into a warning
    and goes on."""

    def __init__(self, message: str):
        super().__init__(USER_ERROR_EXIT)
        self.message = message
