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


COUNT_LIMIT = 1e12  # whole floats beyond this are overflowing values, not counts


def fmt(value: Any) -> str:
    """A cell: integers, and whole floats (counts read back from MLflow as floats, such as
    params_total), in full with thousands separators (101,770, not 1.018e+05); other floats to
    4 significant digits; NaN as '-'; anything else as str()."""
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "-"
        if float(value).is_integer() and abs(value) < COUNT_LIMIT:
            return f"{value:,.0f}"
        return f"{value:.4g}"
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
