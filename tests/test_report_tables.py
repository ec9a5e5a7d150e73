"""optbench/report/tables.py: how a report's cells read (counts in full, 101,770; other floats
to 4 significant digits; NaN as '-') and the CSV and Markdown text every table is written as,
so the terminal, summary.md and index.html show one number the same way."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from optbench.report.tables import COUNT_LIMIT, TextTable, fmt, markdown, table_csv

PARAMS = 101770.0  # MLflow gives every metric back as a float, counts included


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (PARAMS, "101,770"),
        (101770, "101,770"),
        (1234567.0, "1,234,567"),
        (5, "5"),
        (2.0, "2"),
        (0.973123, "0.9731"),
        (12.5, "12.5"),
        (3.4e38, "3.4e+38"),  # an overflowing loss is not a count
        (math.inf, "inf"),
        (math.nan, "-"),
        (True, "True"),
        ("1/3", "1/3"),
    ],
)
def test_fmt_counts_with_separators_floats_as_before(value, text):
    assert fmt(value) == text


def test_markdown_cells_use_fmt():
    table = markdown(["label", "n", "params_total", "mean"], [["adam", 5, PARAMS, 0.97312]])
    assert table.splitlines()[-1] == "| adam | 5 | 101,770 | 0.9731 |"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.int64(-42000), "-42,000"),
        (np.float32(0.5), "0.5"),
        (np.float64(math.nan), "-"),
        (np.bool_(False), "False"),  # a flag, not the count 0
        (-3.0, "-3"),
        (-math.inf, "-inf"),
        (None, "None"),
    ],
)
def test_fmt_reads_numpy_scalars_and_negative_values_as_python_ones(value, text):
    assert fmt(value) == text


def test_whole_floats_are_counts_only_below_the_count_limit():
    below = COUNT_LIMIT - 1  # 999,999,999,999: a count in full
    assert fmt(below) == "999,999,999,999"
    assert fmt(COUNT_LIMIT) == "1e+12"
    assert fmt(-COUNT_LIMIT) == "-1e+12"


def test_markdown_has_a_header_and_a_separator_per_column_and_says_when_there_are_no_rows():
    text = markdown(["a", "b"], [[1, 0.5], ["x", math.nan]])
    assert text == "| a | b |\n|---|---|\n| 1 | 0.5 |\n| x | - |\n"
    assert markdown(["a", "b"], []) == "(no rows)\n"


def test_table_csv_keeps_the_raw_values_and_quotes_what_needs_it():
    header = ["function", "adam"]
    rows = [["rosenbrock", "12-40 (2/3)"], ["saddle, flat", 'say "no"'], ["n", 101770.0]]
    text = table_csv(header, rows)
    assert text.splitlines() == [
        "function,adam",
        "rosenbrock,12-40 (2/3)",
        '"saddle, flat","say ""no"""',
        "n,101770.0",  # CSV is for machines: the number itself, not fmt's 101,770
    ]
    assert list(csv.reader(io.StringIO(text))) == [header, *[[str(c) for c in r] for r in rows]]


def test_a_text_table_unpacks_as_header_and_rows():
    table = TextTable(["function", "sgd"], [["beale", "diverged"]])
    header, rows = table
    assert table_csv(*table) == "function,sgd\r\nbeale,diverged\r\n"
    assert (header, rows) == (table.header, table.rows)
