"""`optbench ui` (optbench/tracking/server.py): a light MLflow server on the store, the links it
prints, and what they open in headless Chromium: the React UI on a sweep's results.
Screenshots go to runs/ui_screenshots/ for a person to look at."""

import contextlib
import html
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from optbench.tracking.ui import run_link
from tests.conftest import REPO, client, requires, run_cli, store_of
from tests.servers import free_port

pytestmark = pytest.mark.slow
SCREENSHOTS = REPO / "runs" / "ui_screenshots"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1920,1080",
)
needs_chromium = requires(
    bool(shutil.which("chromium") and shutil.which("chromedriver")),
    "Chromium and ChromeDriver are not installed: run `make browser` (Debian's packages)",
)


def rendered(page: Path) -> tuple[list[list], int, str]:
    """A local HTML page as headless Chromium shows it: each image's [src, loaded, natural
    width], the number of tables, and the visible text."""
    from selenium import webdriver  # a dev dependency

    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(page.as_uri())
        images = driver.execute_script(
            "return [...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
        )
        tables = driver.execute_script("return document.querySelectorAll('table').length")
        return images, tables, driver.execute_script("return document.body.innerText")
    finally:
        driver.quit()


@contextmanager
def optbench_ui(folder: Path, timeout_s: float = 120) -> Iterator[tuple[int, list[str]]]:
    """`optbench ui` on the default store of ``folder``, in its own process group; yields its
    process group id and the links it printed once the server answered (every URL, up to the
    first line that has one: MLflow's bare root, if printed first, is the first link)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "optbench", "ui", "--port", str(free_port())],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    try:
        links, deadline = [], time.monotonic() + timeout_s
        while not links and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=1.0)
                links += [word for word in line.split() if word.startswith("http")]
        assert links, f"optbench ui printed no link (exit code {process.poll()})"
        yield process.pid, links
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in its terminal
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def processes_in_group(group: int) -> list[str]:
    """The command lines of the live processes in process group ``group``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(command)
    return found


SWEEP = ("-m", "optimizer=saga,lbfgs", "trainer.max_iter=5", "trainer.progress=false")
LINK_PATH = "/#/experiments/1/runs?workflowType=machine_learning&viewStateShareKey=optbench"


def test_optbench_ui_is_one_server_process_and_prints_the_link_the_sweep_printed(tmp_path):
    """`mlflow ui` starts 15 processes (4 uvicorn workers, a job runner, 7 huey consumers).
    The sweep's end, its report page and `optbench ui` all give the same link."""
    sweep = run_cli(*SWEEP, cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    printed = [w for w in sweep.stdout.split() if "/#/experiments/" in w]
    assert printed == [f"http://127.0.0.1:5000{LINK_PATH}"]
    (index,) = (tmp_path / "runs" / "reports").glob("*/index.html")
    assert f"href='{html.escape(printed[0])}'" in index.read_text()
    with optbench_ui(tmp_path) as (group, links):
        running = processes_in_group(group)
    assert len(running) == 3, running  # optbench ui, mlflow server, its one uvicorn
    assert not [c for c in running if "huey" in c or "_job_runner" in c], running
    assert len(links) == 1 and links[0].endswith(LINK_PATH)


def wait_for_text(driver, *texts: str, timeout_s: float = 90) -> str:
    """The page's text once the React UI shows every one of ``texts``."""
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        shown = driver.execute_script("return document.body.innerText")
        if all(t in shown for t in texts):
            return shown
        time.sleep(0.5)
    missing = [t for t in texts if t not in shown]
    raise AssertionError(f"not shown after {timeout_s} s: {missing}\n{shown[:3000]}")


@needs_chromium
def test_the_printed_links_open_the_sweeps_results_in_the_mlflow_ui(tmp_path):
    from selenium import webdriver  # a dev dependency

    sweep = run_cli(*SWEEP, cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    runs = client(store_of(tmp_path)).search_runs(["1"])
    (parent,) = [r for r in runs if r.data.tags.get("optbench.role") == "sweep"]
    children = [r for r in runs if r is not parent]
    assert "Report: " in parent.data.tags["mlflow.note.content"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    with optbench_ui(tmp_path) as (_, (link,)):
        base = link.split("/#/", 1)[0]
        driver = webdriver.Chrome(options=options, service=service)
        try:
            driver.get(link)
            expected = ["Sort: test_accuracy", "test_accuracy", "Dataset", "optbench results"]
            for child in children:
                accuracy = str(child.data.metrics["test_accuracy"])[:6]
                expected += [child.info.run_name, accuracy]
            digest = children[0].inputs.dataset_inputs[0].dataset.digest
            expected += [f"digits ({digest})", parent.info.run_name]
            table = wait_for_text(driver, *expected)
            driver.save_screenshot(str(SCREENSHOTS / "sweep_runs.png"))
            saga = next(c for c in children if c.data.params["optimizer.name"] == "saga")
            driver.get(run_link(base, "1", saga.info.run_id))  # as a run's end prints it
            page = wait_for_text(
                driver,
                saga.info.run_name,
                "optbench optimizer=saga trainer.max_iter=5",  # the description
                f"digits ({digest})",
                "test_accuracy",
                str(saga.data.metrics["test_accuracy"])[:6],
            )
            driver.save_screenshot(str(SCREENSHOTS / "run_page.png"))
        finally:
            driver.quit()
    assert "No data" not in table and "No data" not in page  # not the GenAI overview
