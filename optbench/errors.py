"""User-facing errors: the CLI prints them without a traceback and exits with USER_ERROR_EXIT."""

USER_ERROR_EXIT = 2


class OptbenchError(Exception):
    """A mistake in the user's config, data or environment, with what is allowed instead."""
