"""Execute the course's notebooks: in place for the committed outputs, or into a run folder.

``refresh_outputs`` (``python3 -m helpers.course outputs``) re-runs notebooks top to bottom in quick
mode and saves them in place, first writing each one's badge and setup cell from pyproject.toml's
address (``write_first_cells``): what is committed and what nbval compares against. ``run_course``
(``python3 -m helpers.course run``) executes them at any scale, on any dataset, into a folder of
their own. Saved notebooks keep what a reader sees and nothing that changes on every run:
progress bars collapse to their last state, execution timestamps are dropped.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import nbclient
import nbformat

from helpers import comparison, lessons, publishing, results
from helpers.config import QUICK_ENV, ROOT, display_path

README = ROOT / "README.md"
# The README's blocks of measured figures, rewritten by ``outputs`` from the same results as notebook 11.
HEADLINES_START, HEADLINES_END = (
    "<!-- headline figures: start -->",
    "<!-- headline figures: end -->",
)
LESSONS_START, LESSONS_END = "<!-- lessons measured: start -->", "<!-- lessons measured: end -->"
# seconds: a quick-mode cell stays far below it; full-scale training may take hours
QUICK_CELL_TIMEOUT = 900


def refresh_outputs(notebooks: list[Path]) -> int:
    """Execute notebooks top to bottom in a fresh kernel each and save them in place.

    The results notebook (the last) runs again after any notebook it reads, and the README's
    headline figures and measured lessons are then rewritten from the same results: one run, one set
    of numbers.
    A notebook that fails keeps its committed outputs; its failed copy goes to ``runs/failed/``.
    """
    notebooks = [path.resolve() for path in notebooks] or course_notebooks()
    results_notebook = course_notebooks()[-1]
    if results_notebook not in notebooks:
        notebooks.append(results_notebook)
    for path in notebooks:
        write_first_cells(path)
    failed = execute_notebooks(
        notebooks,
        {**os.environ, **QUICK_ENV},
        QUICK_CELL_TIMEOUT,
        save_as=lambda path: path,
        save_failed_as=lambda path: ROOT / "runs" / "failed" / path.name,
    )
    if not failed:
        found = results.load_results()
        write_block(
            README,
            HEADLINES_START,
            HEADLINES_END,
            comparison.headline_table(comparison.pipeline_rows(found)),
        )
        write_block(
            README, LESSONS_START, LESSONS_END, lessons.lesson_table(lessons.lesson_rows(found))
        )
    return failed


def write_block(readme: Path, start_marker: str, end_marker: str, table: str) -> None:
    """Put ``table`` between two of the README's markers, in place of what was there."""
    text = readme.read_text()
    start, end = text.index(start_marker) + len(start_marker), text.index(end_marker)
    readme.write_text(f"{text[:start]}\n{table}\n{text[end:]}")


def run_course(
    notebooks: list[Path], scale: str = "quick", dataset: str = "embedded", out: Path | None = None
) -> int:
    """Execute the course (or the notebooks named) into ``out``, then print the results table.

    The executed copies, ``results/`` and ``logs/`` (the traces) go to ``out``, default
    ``runs/<scale>-<dataset>-<time>/``; the committed notebooks are left as they are.
    """
    # the kernels run in notebooks/: make a folder's path absolute
    if Path(dataset).expanduser().is_dir():
        dataset = str(Path(dataset).expanduser().resolve())
    out = (
        out or ROOT / "runs" / f"{scale}-{_slug(dataset)}-{datetime.now():%Y%m%d-%H%M%S}"
    ).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **QUICK_ENV,
        "COURSE_SCALE": scale,
        "COURSE_DATASET": dataset,
        "COURSE_RESULTS_DIR": str(out / "results"),
        "COURSE_LOGS_DIR": str(out / "logs"),
    }
    print(f"Running the course at {scale} scale on {dataset} into {display_path(out)}", flush=True)
    failed = execute_notebooks(
        notebooks or course_notebooks(),
        env,
        QUICK_CELL_TIMEOUT if scale == "quick" else None,
        save_as=lambda path: out / path.name,
        kernel_log=out / "kernel.log",
    )
    print(f"\nResults in {display_path(out / 'results')}:")
    found = results.load_results(out / "results")
    print(comparison.comparison_table(comparison.pipeline_rows(found)))
    return failed


def write_first_cells(path: Path) -> bool:
    """Give a notebook the badge and setup cell of ``helpers.publishing``; True if that changed it."""
    notebook = nbformat.read(path, as_version=4)
    markdown = next(cell for cell in notebook.cells if cell.cell_type == "markdown")
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    new = publishing.with_first_cells(markdown.source, code.source, path.stem)
    if new == (markdown.source, code.source):
        return False
    markdown.source, code.source = new
    path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    return True


def course_notebooks() -> list[Path]:
    """Every notebook of the course, in order."""
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def execute_notebooks(
    notebooks: list[Path],
    env: dict[str, str],
    cell_timeout: int | None,
    save_as: Callable[[Path], Path],
    save_failed_as: Callable[[Path], Path] | None = None,
    kernel_log: Path | None = None,
) -> int:
    """Execute notebooks in order, each top to bottom in a fresh kernel; stop at the first that fails.

    ``env`` is the kernels' environment; a cell running past ``cell_timeout`` seconds (None: no
    limit) fails. Each executed copy is written to ``save_as(path)`` (a failed one, traceback included, to
    ``save_failed_as(path)``, by default the same place). The kernels' own output (native
    libraries' logs) goes to ``kernel_log`` when given, else to this terminal. Returns 0, or 1
    after saying which notebook and cell failed, with what error, and where its copy is.
    """
    for number, path in enumerate(notebooks, 1):
        print(f"[{number}/{len(notebooks)}] {path.name} ...", end=" ", flush=True)
        start = time.perf_counter()
        notebook, failure = _execute(path, env, cell_timeout, kernel_log)
        saved = (save_failed_as or save_as)(path) if failure else save_as(path)
        saved.parent.mkdir(parents=True, exist_ok=True)
        _write(notebook, saved)
        print(
            f"{'failed after' if failure else 'done in'} {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        if failure:
            print(
                f"\n{path.name} stopped {failure}\nThe executed copy, traceback included, is in {display_path(saved)}"
                + (f"; the kernel's own log is {display_path(kernel_log)}" if kernel_log else ""),
                file=sys.stderr,
            )
            return 1
    return 0


def _execute(path: Path, env: dict[str, str], cell_timeout: int | None, kernel_log: Path | None):
    """Run one notebook in a fresh kernel; return it executed and, if a cell failed, where and why."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # a failure leaves the later cells empty, not holding old outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    running = {}
    client = nbclient.NotebookClient(
        notebook,
        timeout=cell_timeout,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_execute=lambda cell, cell_index: running.update(cell=cell, index=cell_index),
    )
    with open(kernel_log, "a") if kernel_log else contextlib.nullcontext() as log:
        if log:
            print(f"--- {path.name}", file=log, flush=True)
        try:
            client.execute(env=env, stdout=log, stderr=log)
        # a cell's exception, a timeout, a dead kernel: say where and why
        except Exception as error:
            return notebook, _where_and_why(running, len(notebook.cells), error)
    return notebook, None


def _where_and_why(running: dict, cells: int, error: Exception) -> str:
    """'in cell [7] (cell 12 of 40), which starts: <its first line>' and the error's last line."""
    if not running:
        return f"before its first cell: {type(error).__name__}: {error}"
    cell = running["cell"]
    first_line = next(
        (line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), ""
    )
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    last_line = (
        f"{ename}: {evalue}"
        if ename
        else f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
    )
    return (
        f"in cell [{cell.execution_count or '*'}] (cell {running['index'] + 1} of {cells}), which starts:\n"
        f"    {first_line}\n  {last_line}"
    )


def _write(notebook, path: Path) -> None:
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = _as_displayed(cell.outputs)
            # timestamps: they would change every cell on every run
            cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def _slug(dataset: str) -> str:
    """A dataset name or folder as a piece of a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(dataset).name) or "dataset"


def _as_displayed(outputs: list) -> list:
    """Stream outputs as a reader sees them: progress-bar redraws collapsed to their last state."""
    tidy = []
    for output in outputs:
        if (
            output.output_type == "stream"
            and tidy
            and tidy[-1].output_type == "stream"
            and tidy[-1].name == output.name
        ):
            tidy[-1].text += output.text
        else:
            tidy.append(output)
    for output in tidy:
        if output.output_type == "stream":
            output.text = "\n".join(line.rsplit("\r", 1)[-1] for line in output.text.split("\n"))
    return [output for output in tidy if output.output_type != "stream" or output.text.strip()]
