"""Measured numbers, one JSON file per notebook, and the table and chart that compare them.

A notebook calls ``record("<its file name>", images_per_second=..., ...)``; the file keeps
the context the numbers were measured in, so the results notebook can tell a fair
comparison (same scale, same machine) from an unfair one.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from matplotlib.figure import Figure

from helpers.config import settings, shown

CONTEXT_COLUMNS = ("scale", "image_size", "batch_size", "cpu_count")  # shown beside the numbers


def result_path(notebook: str) -> Path:
    """Where a notebook's results go: ``<results dir>/<notebook>.json``."""
    return settings().results_dir / f"{notebook}.json"


def record(notebook: str, **numbers: float) -> Path:
    """Write a notebook's numbers, with the context they were measured in, and return the file.

    ``notebook`` is the notebook's file name without ``.ipynb``. Recording again replaces the file.
    """
    path = result_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"notebook": notebook, "numbers": numbers, "context": measurement_context()}
    path.write_text(json.dumps(result, indent=2, default=float))  # default: NumPy scalars
    return path


def measurement_context() -> dict:
    """Scale, dataset, image and batch size, core count, TensorFlow version and the time, now."""
    import tensorflow as tf  # here, not at the top: reading results needs no TensorFlow

    run = settings()
    return {"scale": run.scale.name, "dataset": run.dataset, "image_size": run.scale.image_size,
            "batch_size": run.scale.batch_size, "cpu_count": os.cpu_count(), "tensorflow": tf.__version__,
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def load_results(results_dir: Path | str | None = None) -> dict[str, dict]:
    """Every recorded result, by notebook name, in name order."""
    folder = Path(results_dir or settings().results_dir)
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def missing_results(expected: Iterable[str], results: Mapping[str, dict]) -> list[str]:
    """One line for each expected notebook without results, naming the notebook to run."""
    return [f"No results for {name} ({shown(result_path(name))}): run notebooks/{name}.ipynb"
            for name in expected if name not in results]


def comparison_rows(results: Mapping[str, dict], metrics: Sequence[str] | None = None) -> list[dict]:
    """One row per notebook: the chosen numbers (default: every one recorded), then its context."""
    metrics = metrics or list(dict.fromkeys(metric for result in results.values() for metric in result["numbers"]))
    return [{"notebook": name,
             **{metric: result["numbers"].get(metric) for metric in metrics},
             **{column: result["context"].get(column) for column in CONTEXT_COLUMNS}}
            for name, result in results.items()]


def format_table(rows: Sequence[Mapping]) -> str:
    """Rows as an aligned text table: first column left, the others right, absent values as '-'."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [columns, *([_cell(row.get(column)) for column in columns] for row in rows)]
    widths = [max(map(len, column)) for column in zip(*lines)]
    return "\n".join("  ".join(cell.rjust(width) if i else cell.ljust(width)
                               for i, (cell, width) in enumerate(zip(line, widths)))
                     for line in lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def plot_comparison(rows: Sequence[Mapping], metric: str = "images_per_second") -> Figure:
    """A bar per notebook for one number, labelled with its value; notebooks without it are left out."""
    plotted = [row for row in rows if row.get(metric) is not None]
    figure = Figure(figsize=(8, 1.5 + 0.5 * len(plotted)), layout="constrained")
    axes = figure.subplots()
    bars = axes.barh([row["notebook"] for row in plotted], [row[metric] for row in plotted])
    axes.bar_label(bars, fmt="{:,.1f}", padding=3)
    axes.invert_yaxis()  # first notebook on top, as in the table
    axes.set_xlabel(metric.replace("_", " "))
    axes.margins(x=0.15)  # room for the labels
    return figure
