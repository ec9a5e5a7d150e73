"""Data files: checksums, atomic downloads that never keep an unverified file, the proxies of
the moment, where files are looked for, and the parsed-array cache."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from optbench.data import files
from optbench.errors import OptbenchError


@pytest.fixture(autouse=True)
def _direct(monkeypatch):
    """The local server is reached directly, whatever proxy the environment names."""
    monkeypatch.setenv("no_proxy", "*")


def test_proxies_are_read_when_a_download_starts_not_once_per_process(
    tmp_path, http_folder, monkeypatch
):
    """A probe made while a (dead) proxy was set must not route later downloads through it,
    which urllib's process-wide ``urlopen`` would do once it had been first called then."""
    import urllib.request

    from optbench.data.files import download, sha256, unreachable

    root, url = http_folder
    (root / "f.bin").write_bytes(b"optbench")
    monkeypatch.setattr(urllib.request, "_opener", None)  # as in a fresh process
    for key in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(key, "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "")
    assert unreachable(f"{url}/f.bin") is not None  # through the dead proxy
    for key in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(key)
    got = download(f"{url}/f.bin", tmp_path / "got" / "f.bin", sha256(root / "f.bin"))
    assert got.read_bytes() == b"optbench"


def test_a_checksum_mismatch_names_the_file_and_both_digests(tmp_path):
    path = tmp_path / "train-images.gz"
    path.write_bytes(b"not the official file")
    actual = hashlib.sha256(b"not the official file").hexdigest()
    assert files.sha256(path) == actual
    assert files.verify(path, actual) == actual
    with pytest.raises(OptbenchError) as info:
        files.verify(path, "0" * 64)
    assert str(info.value) == (
        f"{path} has sha256 {actual}, expected {'0' * 64}: the file is corrupt or not the "
        "official one. Delete it and copy or download it again."
    )


def test_a_file_larger_than_one_read_block_is_hashed_whole(tmp_path):
    data = bytes(range(256)) * 8193  # just over 2 MiB: three 1 MiB blocks
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert files.sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_download_with_the_wrong_checksum_leaves_nothing_behind(tmp_path, http_folder):
    root, url = http_folder
    (root / "f.bin").write_bytes(b"optbench")
    dest = tmp_path / "cache" / "f.bin"
    with pytest.raises(OptbenchError, match=r"has sha256 .* expected ffff"):
        files.download(f"{url}/f.bin", dest, "f" * 64)
    assert list(dest.parent.iterdir()) == []  # neither the file nor its partial copy


def test_a_failed_download_raises_connection_error_and_removes_the_partial_file(
    tmp_path, http_folder
):
    _, url = http_folder
    dest = tmp_path / "cache" / "missing.bin"
    with pytest.raises(ConnectionError, match=rf"could not download {url}/missing\.bin: "):
        files.download(f"{url}/missing.bin", dest, "0" * 64)  # a 404
    assert list(dest.parent.iterdir()) == []


def test_a_server_that_answers_is_reachable_even_with_an_error_status(http_folder):
    _, url = http_folder
    assert files.unreachable(f"{url}/absent.bin") is None  # 404: the server answered
    assert files.unreachable("http://127.0.0.1:9/x").startswith("127.0.0.1: ")  # refused


def test_the_configured_folder_comes_before_the_keras_cache(tmp_path):
    assert files.search_dirs(str(tmp_path)) == [tmp_path, files.KERAS_CACHE]
    assert files.search_dirs(None) == [files.KERAS_CACHE]
    assert files.search_dirs("") == [files.KERAS_CACHE]


def test_parsed_arrays_are_cached_under_their_key_and_a_second_save_keeps_the_first(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("OPTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    assert files.cache_dir() == tmp_path / "cache"
    assert files.cached_arrays("toy", ("x", "y")) is None
    first = {"x": np.arange(6).reshape(2, 3), "y": np.array([0, 1])}
    files.save_arrays("toy", first)
    files.save_arrays("toy", {"x": np.zeros((2, 3)), "y": np.array([1, 1])})  # lost the race
    got = files.cached_arrays("toy", ("x", "y"))
    assert np.array_equal(got["x"], first["x"]) and np.array_equal(got["y"], first["y"])
    assert sorted(p.name for p in (tmp_path / "cache" / "datasets").iterdir()) == ["toy"]
    assert files.cached_arrays("toy", ("x", "z")) is None  # an array not saved: not cached
