"""Start real MLflow servers on 127.0.0.1 for tests, and stop them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Loopback servers are reached directly, whatever proxy the environment (or a test) names.
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
MLFLOW = str(Path(sys.executable).with_name("mlflow"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read()}")
        try:
            with LOOPBACK.open(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {timeout_s} s")


@contextmanager
def serving(command: list[str], port: int, cwd: str | None = None) -> Iterator[str]:
    """Run ``command`` in its own process group until the block ends; yields the base URL."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """A real `mlflow server` (one worker) with its SQLite store and artifacts in ``folder``."""
    port = free_port()
    command = [
        MLFLOW,
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{folder / 'server.db'}",
        "--artifacts-destination",
        str(folder / "server-artifacts"),
    ]
    with serving(command, port) as url:
        yield url


@contextmanager
def light_mlflow_server(folder: Path) -> Iterator[str]:
    """``mlflow_server`` as ``optbench ui`` starts it: without MLflow's job runner and its 7
    huey consumers (GenAI jobs, which tracking never uses), 2 processes instead of 10 and
    about 10 s less CPU to start. Its tracking API is the same."""
    import pytest

    from optbench.tracking.server import LIGHT_SERVER_ENV

    with pytest.MonkeyPatch.context() as env:
        for key, value in LIGHT_SERVER_ENV.items():
            env.setenv(key, value)
        with mlflow_server(folder) as url:
            yield url
