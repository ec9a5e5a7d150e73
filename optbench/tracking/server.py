"""`optbench ui`: the MLflow UI on a store, light enough for a laptop, and the links to open.

``mlflow ui`` starts 4 uvicorn workers, and a job runner with 7 huey consumers for GenAI jobs
(judges, trace rollups): 15 processes and about 2.6 GB on this store. Browsing results needs
one worker and no jobs (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false): MLflow's CLI and one
uvicorn process, plus this one, which waits for the server to answer, gives each experiment
optbench's view (an older optbench did not) and prints their links. It talks to the server
over its REST API, so it never imports MLflow itself.

optbench ui                         # the store optbench runs write to (runs/mlflow.db)
optbench ui --uri sqlite:///x.db --port 5001
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from optbench.signals import sigterm_interrupts
from optbench.tracking.store import check_scheme, resolve_uri
from optbench.tracking.ui import UI_HOST, UI_PORT, experiment_link, ui_base, ui_tags

LIGHT_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
START_TIMEOUT_S = 120.0
MAX_LINKS = 10  # the most recently updated experiments
# The server is ours, on loopback: never reach it through a proxy from the environment.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="optbench ui",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[-3:]),
    )
    parser.add_argument("--uri", default=None, help="tracking URI (default: as optbench runs)")
    parser.add_argument("--host", default=UI_HOST, help=f"interface (default: {UI_HOST})")
    parser.add_argument("--port", type=int, default=UI_PORT, help=f"(default: {UI_PORT})")
    return parser.parse_args(argv)


def server_command(uri: str, host: str, port: int) -> list[str]:
    """``mlflow server`` with one worker (job execution is off through LIGHT_SERVER_ENV)."""
    mlflow = Path(sys.executable).with_name("mlflow")
    return [
        str(mlflow) if mlflow.exists() else "mlflow",
        "server",
        "--backend-store-uri",
        uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def main(argv: list[str]) -> int:
    """Serve the UI until Ctrl-C (or SIGTERM); 1 if the server does not start."""
    from optbench.errors import USER_ERROR_EXIT, OptbenchError

    args = parse(argv)
    try:
        if args.uri:
            check_scheme(args.uri, "--uri")
        uri = resolve_uri(args.uri)
    except OptbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USER_ERROR_EXIT
    if ui_base(uri) in (None, uri.rstrip("/")):  # a tracking server, or Databricks
        print(f"{uri} has its own UI: open it there.")
        return 0
    base = f"http://{args.host}:{args.port}"
    env = {**os.environ, **LIGHT_SERVER_ENV}
    server = subprocess.Popen(server_command(uri, args.host, args.port), env=env)
    try:
        with sigterm_interrupts():
            if not _answers(base, server):
                code = server.poll()
                print(f"error: no MLflow server on {base} (exit code {code})", file=sys.stderr)
                return 1
            _print_links(base, uri)
            return server.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the server too: it stops on its own
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _answers(base: str, server: subprocess.Popen) -> bool:
    """Wait until the server's /health answers; False if it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with _LOOPBACK.open(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _api(base: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with _LOOPBACK.open(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _print_links(base: str, uri: str) -> None:
    """Each experiment's link (the latest first), after giving it optbench's view."""
    found = _api(
        base,
        "experiments/search",
        {"max_results": MAX_LINKS, "order_by": ["last_update_time DESC"]},
    ).get("experiments", [])
    experiments = [e for e in found if e["experiment_id"] != "0"]  # MLflow's empty Default
    for experiment in experiments:
        existing = {t["key"]: t["value"] for t in experiment.get("tags", [])}
        for key, value in ui_tags(existing).items():
            body = {"experiment_id": experiment["experiment_id"], "key": key, "value": value}
            _api(base, "experiments/set-experiment-tag", body)
    for line in link_lines(base, uri, experiments):
        print(line, flush=True)


def link_lines(base: str, uri: str, experiments: list[dict[str, Any]]) -> list[str]:
    """What `optbench ui` prints once the server answers. Every link opens on runs: MLflow's
    bare root (``base``) is its GenAI welcome page, which shows none of optbench's results, so
    it is never printed; with no experiment yet, each run's own output gives its link."""
    if not experiments:
        return [
            f"MLflow UI on {uri} (Ctrl-C stops it): no runs yet. Each `optbench` run ends "
            "with the link to open it here."
        ]
    lines = [f"MLflow UI on {uri} (Ctrl-C stops it); open an experiment's runs:"]
    width = max(len(e["name"]) for e in experiments)
    for experiment in experiments:
        link = experiment_link(base, experiment["experiment_id"])
        lines.append(f"  {experiment['name']:<{width}}  {link}")
    return lines
