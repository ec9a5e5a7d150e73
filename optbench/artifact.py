"""A file a trainer hands its run (a leaf module: trainers and diagnostics build them; the
tracking helper writes them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Artifact:
    """A file for the run: ``text`` as is, or the figure ``draw`` ('module:function') makes
    from ``args`` (drawn where MLflow runs; a .png is a Figure, anything else is saved by the
    object's ``save(path)``)."""

    path: str
    text: str | None = None
    draw: str | None = None
    args: tuple = ()
    file: str | None = None  # a local file to upload as is (kept until the upload is done)
