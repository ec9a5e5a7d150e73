"""Tables as text: CSV and Markdown from a header and rows of cells."""

from __future__ import annotations

import csv
import io
import math
from typing import Any, NamedTuple

import numpy as np


class TextTable(NamedTuple):
    """A table of text cells, as printed to the terminal and written as CSV or Markdown."""

    header: list[str]
    rows: list[list[str]]


def fmt(value: Any) -> str:
    """A cell: floats to 4 significant digits, NaN as '-', anything else as str()."""
    if isinstance(value, float | np.floating):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def table_csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue()


def markdown(header: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "(no rows)\n"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
