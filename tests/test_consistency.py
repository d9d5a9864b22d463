"""One run, one set of numbers: the results notebook and the README agree with the notebooks they summarise.

Each pipeline notebook shows its recorded rows exactly as the results notebook (the last) will;
a row of the results notebook's committed table that no longer appears in the committed notebook
it names means that notebook ran again alone, and its numbers changed (re-run with ``outputs``).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers.results import HEADLINE_COLUMNS, markdown_rows
from helpers.runner import HEADLINES_END, HEADLINES_START, README, course_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def markdown_outputs(path: Path) -> str:
    """Every Markdown output of a committed notebook, one after the other."""
    notebook = nbformat.read(path, as_version=4)
    return "\n\n".join(output.get("data", {}).get("text/markdown", "")
                       for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


def key(row: dict[str, str]) -> tuple[str, str]:
    return row["notebook"], row["pipeline"]


def comparison() -> list[dict[str, str]]:
    rows = [row for row in markdown_rows(markdown_outputs(course_notebooks()[-1])) if "pipeline" in row]
    assert rows, "the results notebook's committed outputs hold no comparison table"
    return rows


def test_every_row_of_the_results_notebook_is_what_its_notebook_recorded() -> None:
    stale = []
    for row in comparison():
        shown = markdown_rows(markdown_outputs(NOTEBOOKS / f"{row['notebook']}.ipynb"))
        if row not in shown:
            stale.append(f"{row['notebook']} / {row['pipeline']}")
    assert stale == [], "re-run the notebooks named, then the results notebook, with `outputs`"


def test_the_readme_headlines_are_the_results_notebook_figures() -> None:
    text = README.read_text()
    block = text[text.index(HEADLINES_START):text.index(HEADLINES_END)]
    headlines = markdown_rows(block)
    assert headlines, "the README has no headline figures: run `python3 -m helpers.course outputs`"
    table = {key(row): row for row in comparison()}
    for row in headlines:
        assert key(row) in table, f"README names {key(row)}, which the results notebook does not"
        assert row == {header: table[key(row)][header] for header in HEADLINE_COLUMNS.values()}, key(row)


@pytest.mark.parametrize("change", ["a figure", "a row"])
def test_a_changed_figure_is_caught(change: str) -> None:
    row = comparison()[0]
    shown = markdown_rows(markdown_outputs(NOTEBOOKS / f"{row['notebook']}.ipynb"))
    assert row in shown
    changed = {**row, "images/s": row["images/s"] + "1"} if change == "a figure" else {**row, "pipeline": "other"}
    assert changed not in shown
