"""Edge of stability (Cohen et al., ICLR 2021) reproduced with optbench's diagnostics: runs
``optbench -m +experiment=edge_of_stability`` (full-batch gradient descent on a tanh MLP over
1,800 MNIST training examples, two learning rates, sharpness every 10 steps) in a fresh
folder, reads each run's diagnostics/diagnostics.csv back from MLflow and measures how close
sharpness comes to 2/lr: the first step within 10 % of 2/lr, the largest overshoot after it,
the longest stretch of probes within 10 % (the plateau) with its median sharpness / (2/lr),
and the ratio at the end. Writes
bench/results/edge_of_stability.md and .png (sharpness and 2/lr per rate, and the loss).

Usage: OPTBENCH_DATA_DIR=../shared/data python bench/edge_of_stability.py [overrides ...]
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from results import RESULTS, Result

BAND = 0.10  # "at 2/lr": within 10 %


def plateau(rows: list[dict]) -> dict:
    """From the rows with a sharpness: the first step within BAND of 2/lr, the longest stretch
    of consecutive probes within it (the plateau: from, to, median and range of sharpness /
    (2/lr)), and the largest ratio after the first arrival (the overshoots)."""
    ratios = [(r["step"], r["sharpness"] / (2 / r["lr"])) for r in rows]
    inside = [abs(q - 1) <= BAND for _, q in ratios]
    if not any(inside):
        return {"reached": None}
    first = inside.index(True)
    best, start = (first, first), None
    for i, ok in enumerate(inside):
        if ok and start is None:
            start = i
        if start is not None and (not ok or i == len(inside) - 1):
            end = i if ok else i - 1
            if end - start > best[1] - best[0]:
                best = (start, end)
            start = None
    on = [q for _, q in ratios[best[0] : best[1] + 1]]
    return {
        "reached": ratios[first][0],
        "from": ratios[best[0]][0],
        "to": ratios[best[1]][0],
        "median": statistics.median(on),
        "range": (min(on), max(on)),
        "overshoot": max(q for _, q in ratios[first:]),
    }


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="optbench-eos-"))
    done = subprocess.run(
        ["optbench", "-m", "+experiment=edge_of_stability", "trainer.progress=false", *sys.argv[1:]],
        cwd=folder, capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    sys.path.insert(0, str(root))
    from optbench.tracking import client_for

    client = client_for(f"sqlite:///{folder / 'runs' / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "edge_of_stability"]
    runs = [
        r for r in client.search_runs([experiment.experiment_id]) if "optimizer.lr" in r.data.params
    ]
    series = {}
    for run in sorted(runs, key=lambda r: float(r.data.params["optimizer.lr"])):
        local = client.download_artifacts(
            run.info.run_id, "diagnostics/diagnostics.csv", str(folder)
        )
        table = list(csv.DictReader(io.StringIO(Path(local).read_text())))
        rows = [
            {k: float(r[k]) for k in ("step", "lr", "loss", "sharpness")}
            for r in table
            if r["layer"] == "all" and r["sharpness"] not in ("", "nan")
        ]
        series[float(run.data.params["optimizer.lr"])] = rows
    out = Result("edge_of_stability")
    out.print(
        "full-batch GD, tanh MLP 200-200, 1,800 MNIST training examples, cross-entropy; "
        f"sharpness every 10 steps; 'at 2/lr': within {BAND:.0%}"
    )
    for lr, rows in series.items():
        p = plateau(rows)
        out.print(
            f"  lr {lr:g} (2/lr = {2 / lr:.2f}): sharpness at step 0 {rows[0]['sharpness']:.2f}, "
            f"loss {rows[0]['loss']:.3f} -> {rows[-1]['loss']:.4f} at step {rows[-1]['step']:.0f}"
        )
        if p["reached"] is None:
            out.print("    never within 10 % of 2/lr")
            continue
        low, high = p["range"]
        out.print(
            f"    first within 10 % of 2/lr at step {p['reached']:.0f}; largest sharpness / "
            f"(2/lr) after that {p['overshoot']:.3f}"
        )
        out.print(
            f"    longest stretch within 10 %: steps {p['from']:.0f}-{p['to']:.0f}, "
            f"sharpness / (2/lr) median {p['median']:.3f} (range {low:.3f}-{high:.3f})"
        )
        out.print(
            f"    at the end (step {rows[-1]['step']:.0f}): sharpness {rows[-1]['sharpness']:.2f} "
            f"= {rows[-1]['sharpness'] / (2 / lr):.2f} x 2/lr"
        )
    figure(series, RESULTS / "edge_of_stability.png")
    out.print(f"  figure: bench/results/edge_of_stability.png; runs: {folder}")
    print(f"wrote {out.save()}")


def figure(series: dict[float, list[dict]], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=110)
    sharp, loss = fig.subplots(1, 2)
    for (lr, rows), colour in zip(
        series.items(), ("tab:blue", "tab:orange", "tab:green"), strict=False
    ):
        steps = [r["step"] for r in rows]
        sharp.plot(steps, [r["sharpness"] for r in rows], color=colour, label=f"lr {lr:g}")
        sharp.axhline(
            2 / lr, color=colour, linestyle="--", linewidth=1, label=f"2/lr = {2 / lr:.2f}"
        )
        loss.plot(steps, [r["loss"] for r in rows], color=colour, label=f"lr {lr:g}")
    sharp.set_xlabel("step")
    sharp.set_ylabel("sharpness (top Hessian eigenvalue)")
    sharp.legend(fontsize=8)
    loss.set_xlabel("step")
    loss.set_ylabel("training loss (full batch)")
    loss.set_yscale("log")
    loss.legend(fontsize=8)
    fig.suptitle("edge of stability: full-batch GD, tanh MLP on 1,800 MNIST examples")
    fig.tight_layout()
    fig.savefig(path)


if __name__ == "__main__":
    main()
