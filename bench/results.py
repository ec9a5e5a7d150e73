"""Each bench script prints its table and writes it, with where and when it was measured, to
``bench/results/<name>.md``; README and docs/ link those files instead of retyping numbers."""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PACKAGES = ("numpy", "scikit-learn", "mlflow", "keras", "tensorflow", "jax", "torch")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _versions() -> str:
    found = []
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


class Result:
    """Lines printed as they come and kept for the result file."""

    def __init__(self, name: str):
        self.name, self.lines = name, []

    def print(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.name}.md"
        script = Path(sys.argv[0]).resolve()
        root = Path(__file__).resolve().parent.parent
        shown = script.relative_to(root) if script.is_relative_to(root) else script
        command = " ".join(["python", str(shown), *sys.argv[1:]])
        header = [
            f"# {self.name}",
            "",
            f"- command: `{command}`",
            f"- measured: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
            f"commit {_commit()}",
            f"- machine: {os.cpu_count()} CPUs ({_cpu()}), {platform.platform()}",
            f"- Python {platform.python_version()}; {_versions()}",
            "",
            "```",
        ]
        path.write_text("\n".join([*header, *self.lines, "```", ""]))
        print(
            f"(written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path})"
        )
        return path


def spread(values: list[float]) -> str:
    """Median and interquartile range of ratios, as the bench tables show them."""
    q1, med, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return f"{med:5.3f}x (IQR {q1:.3f}-{q3:.3f})"
