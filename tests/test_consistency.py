"""One run, one set of numbers: the results notebook and the README agree with the notebooks they summarise.

Each pipeline notebook shows its recorded rows exactly as the results notebook (the last) will;
a row of the results notebook's committed table that no longer appears in the committed notebook
it names means that notebook ran again alone, and its numbers changed (re-run with ``outputs``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from markdown_tables import markdown_rows

from helpers.comparison import HEADLINE_COLUMNS
from helpers.lessons import LESSONS
from helpers.runner import (
    HEADLINES_END,
    HEADLINES_START,
    LESSONS_END,
    LESSONS_START,
    README,
    course_notebooks,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def markdown_outputs(path: Path) -> str:
    """Every Markdown output of a committed notebook, one after the other."""
    notebook = nbformat.read(path, as_version=4)
    return "\n\n".join(
        output.get("data", {}).get("text/markdown", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def key(row: dict[str, str]) -> tuple[str, str]:
    return row["notebook"], row["pipeline"]


def results_table(column: str) -> list[dict[str, str]]:
    """The rows of the results notebook's committed tables that have ``column``."""
    rows = [row for row in markdown_rows(markdown_outputs(course_notebooks()[-1])) if column in row]
    assert rows, f"the results notebook's committed outputs hold no table with a {column!r} column"
    return rows


def comparison() -> list[dict[str, str]]:
    return results_table("pipeline")


def readme_block(start: str, end: str) -> list[dict[str, str]]:
    text = README.read_text()
    rows = markdown_rows(text[text.index(start) : text.index(end)])
    assert rows, (
        "the README lacks a block of measured figures: run `python3 -m helpers.course outputs`"
    )
    return rows


@pytest.mark.parametrize("column", ["pipeline", "lesson"])
def test_every_row_of_the_results_notebook_is_what_its_notebook_recorded(column: str) -> None:
    stale = []
    for row in results_table(column):
        shown = markdown_rows(markdown_outputs(NOTEBOOKS / f"{row['notebook']}.ipynb"))
        if row not in shown:
            stale.append(f"{row['notebook']} / {row[column]}")
    assert stale == [], "re-run the notebooks named, then the results notebook, with `outputs`"


def test_the_readme_lessons_are_the_results_notebook_figures() -> None:
    assert readme_block(LESSONS_START, LESSONS_END) == results_table("lesson")


def test_the_readme_headlines_are_the_results_notebook_figures() -> None:
    headlines = readme_block(HEADLINES_START, HEADLINES_END)
    table = {key(row): row for row in comparison()}
    for row in headlines:
        assert key(row) in table, f"README names {key(row)}, which the results notebook does not"
        assert row == {header: table[key(row)][header] for header in HEADLINE_COLUMNS.values()}, (
            key(row)
        )


@pytest.mark.parametrize("change", ["a figure", "a row"])
def test_a_changed_figure_is_caught(change: str) -> None:
    row = comparison()[0]
    shown = markdown_rows(markdown_outputs(NOTEBOOKS / f"{row['notebook']}.ipynb"))
    assert row in shown
    changed = (
        {**row, "images/s": row["images/s"] + "1"}
        if change == "a figure"
        else {**row, "pipeline": "other"}
    )
    assert changed not in shown


def test_the_results_notebook_has_a_row_for_every_lesson() -> None:
    # A misspelt key in a notebook's `record` drops its lesson row without failing anything else.
    shown = {row["lesson"] for row in results_table("lesson")}
    missing = [lesson.name for lesson in LESSONS if lesson.name not in shown]
    assert missing == [], "record both numbers of each lesson, then re-run with `outputs`"
