"""Every notebook fits the reading budget: about half an hour for a careful reader, in short cells.

The count (CONTRIBUTING.md): markdown words / 180 + non-blank code lines / 8 minutes; code cells
of at most 15 non-blank lines; at most 2 % of code lines over 100 characters; a setup cell of at
most 8 lines; no test markers in the code a learner reads; no execution timestamps.
A notebook that outgrows the budget is split or trimmed, never exempted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MINUTES, CELL_LINES, SETUP_LINES = 30, 15, 8
LONG_LINE, LONG_LINE_SHARE = 100, 0.02
WORDS_PER_MINUTE, CODE_LINES_PER_MINUTE = 180, 8
TEST_MARKERS = ("# NBVAL", "#NBVAL")


@dataclass(frozen=True)
class Reading:
    """What a notebook asks of its reader."""

    minutes: float
    longest_cell: int
    long_line_share: float
    setup_lines: int
    test_markers: int
    timestamped_cells: int


def code_lines(source: str) -> list[str]:
    return [line for line in source.splitlines() if line.strip()]


def reading(notebook: nbformat.NotebookNode) -> Reading:
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    words = sum(len(cell.source.split()) for cell in notebook.cells if cell.cell_type == "markdown")
    per_cell = [code_lines(cell.source) for cell in code]
    lines = [line for cell in per_cell for line in cell]
    return Reading(
        minutes=words / WORDS_PER_MINUTE + len(lines) / CODE_LINES_PER_MINUTE,
        longest_cell=max(map(len, per_cell), default=0),
        long_line_share=sum(len(line) > LONG_LINE for line in lines) / max(len(lines), 1),
        setup_lines=len(per_cell[0]) if per_cell else 0,
        test_markers=sum(line.lstrip().startswith(TEST_MARKERS) for line in lines),
        timestamped_cells=sum("execution" in cell.metadata for cell in code),
    )


def over_budget(read: Reading) -> list[str]:
    """A line for each budget the reading exceeds."""
    checks = [
        (read.minutes > MINUTES, f"about {read.minutes:.0f} min to read (budget {MINUTES})"),
        (
            read.longest_cell > CELL_LINES,
            f"a code cell of {read.longest_cell} lines (budget {CELL_LINES})",
        ),
        (
            read.long_line_share > LONG_LINE_SHARE,
            f"{read.long_line_share:.0%} of code lines over {LONG_LINE} characters (budget {LONG_LINE_SHARE:.0%})",
        ),
        (
            read.setup_lines > SETUP_LINES,
            f"a setup cell of {read.setup_lines} lines (budget {SETUP_LINES})",
        ),
        (read.test_markers > 0, f"{read.test_markers} test markers in the code (use cell tags)"),
        (read.timestamped_cells > 0, f"execution timestamps in {read.timestamped_cells} cells"),
    ]
    return [message for failed, message in checks if failed]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_fits_the_reading_budget(path: Path) -> None:
    assert over_budget(reading(nbformat.read(path, as_version=4))) == []


def test_the_count_sees_what_a_reader_sees() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(" ".join(["word"] * 1800)),  # 10 minutes
            nbformat.v4.new_code_cell("import sys\n\nx = 1\n"),
            nbformat.v4.new_code_cell(
                "\n".join(["# NBVAL_IGNORE_OUTPUT", *["y = 2"] * 15, "z" * 101])
            ),
        ]
    )
    notebook.cells[2].metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    read = reading(notebook)
    assert read.minutes == pytest.approx(10 + 19 / 8)
    assert (read.longest_cell, read.setup_lines, read.test_markers, read.timestamped_cells) == (
        17,
        2,
        1,
        1,
    )
    # long cell, long lines, marker, timestamps; not the minutes or the setup
    assert len(over_budget(read)) == 4
