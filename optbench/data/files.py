"""Where data files live, checksums, cached downloads, and a cache of parsed arrays."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from optbench import paths
from optbench.errors import OptbenchError

KERAS_CACHE = Path("~/.keras/datasets").expanduser()
PROBE_TIMEOUT_S = 5.0  # offline, a run stops this soon rather than at a download's timeout


@dataclass(frozen=True)
class Missing:
    """A file a run needs that is not on this machine, found before anything is downloaded:
    what it is, the path to put it at, and where it comes from (``url``, fetched by the run
    when ``switch`` is on; ``origin``: how to get it otherwise)."""

    what: str
    where: str  # the path it is looked for at first (a folder ends with /)
    url: str | None = None
    switch: str = ""  # the setting that allows the download, e.g. dataset.download
    download: bool = False  # the run would download it
    origin: str = ""


def _open(request: str | urllib.request.Request, timeout_s: float):
    """Open with the proxies the environment names now: ``urlopen`` reads them once per process
    and keeps them, so a proxy set and unset earlier would still be used."""
    return urllib.request.build_opener().open(request, timeout=timeout_s)


def unreachable(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why ``url``'s server does not answer (None: it does): one HEAD request, through the
    same proxies as the download, bounded by ``timeout_s``."""
    try:
        with _open(urllib.request.Request(url, method="HEAD"), timeout_s):
            return None
    except urllib.error.HTTPError:
        return None  # the server answered
    except (OSError, ValueError) as exc:
        return f"{urlparse(url).hostname}: {getattr(exc, 'reason', exc)}"


def search_dirs(data_dir: str | None) -> list[Path]:
    """The configured data directory (config or $OPTBENCH_DATA_DIR) first, then Keras's cache."""
    dirs = [Path(data_dir).expanduser()] if data_dir else []
    return [*dirs, KERAS_CACHE]


def cache_dir() -> Path:
    """Parsed-array cache: $OPTBENCH_CACHE_DIR, else runs/cache (optbench.paths)."""
    return paths.cache()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected_sha256: str) -> str:
    """Return the file's sha256, or raise if it is not the expected file."""
    actual = sha256(path)
    if actual != expected_sha256:
        raise OptbenchError(
            f"{path} has sha256 {actual}, expected {expected_sha256}: the file is corrupt or "
            "not the official one. Delete it and copy or download it again."
        )
    return actual


def download(url: str, dest: Path, expected_sha256: str, timeout_s: float = 30.0) -> Path:
    """Download to ``dest`` atomically, checking the sha256 before the file appears."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
        partial = Path(tmp.name)
        try:
            with _open(url, timeout_s) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as exc:
            tmp.close()
            partial.unlink()
            raise ConnectionError(f"could not download {url}: {exc}") from exc
    try:
        verify(partial, expected_sha256)
    except OptbenchError:
        partial.unlink()  # never leave an unverified file in the cache
        raise
    os.replace(partial, dest)
    return dest


def cached_arrays(key: str, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Arrays saved by ``save_arrays`` under ``key``, or None when not cached yet."""
    folder = cache_dir() / "datasets" / key
    paths = [folder / f"{n}.npy" for n in names]
    if not all(p.exists() for p in paths):
        return None
    return {n: np.load(p) for n, p in zip(names, paths, strict=True)}


def save_arrays(key: str, arrays: dict[str, np.ndarray]) -> None:
    folder = cache_dir() / "datasets" / key
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", array)
    if folder.exists():  # another process won the race; its arrays are identical
        shutil.rmtree(tmp)
    else:
        os.replace(tmp, folder)
