"""Measured numbers, one JSON file per notebook: what a notebook records and where notebook 11 reads it.

A notebook that measured a pipeline ends with ``record(settings.notebook, Pipeline(...), **extras)``:
``Pipeline`` takes what the notebook already holds (the throughput and decode ceiling measured, the
epoch timer, the trace summaries, the fit's history) and works out the figures every such notebook
records under the same names (``Pipeline.figures``); a second pipeline measured in the same notebook
is a second ``Pipeline``. A lesson's two numbers (``helpers.lessons``) and the few other figures a
notebook keeps are named extras. The file also keeps the context the numbers were measured in, so
that notebook 11 (``helpers.comparison``) can tell a fair comparison from an unfair one.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from helpers.comparison import comparison_table, pipeline_rows
from helpers.config import display_path, settings
from helpers.lessons import LESSON_KEYS, lesson_rows, lesson_table

# A pipeline that decodes every image reads at most this multiple of its decode ceiling (noise).
CEILING_NOISE = 1.05


class Rate(Protocol):
    """Something measured in images per second: ``measure.Throughput``."""

    images_per_second: float


class Timer(Protocol):
    """The seconds of each training epoch: ``measure.EpochTimer``."""

    seconds: list[float]


class Trace(Protocol):
    """A traced run's share of each step spent waiting for input: ``profiling.StepSummary``."""

    wait_share: float


class History(Protocol):
    """What ``fit`` returns: its ``history`` holds ``val_accuracy`` per epoch."""

    history: dict[str, list[float]]


@dataclass(frozen=True)
class Pipeline:
    """A pipeline a notebook measured, as the objects the notebook holds; ``figures`` reads them.

    ``measured`` is its input-only throughput and ``ceiling`` the full-decode ceiling timed beside it;
    ``timer`` timed its training epochs; ``trace`` and ``stand_in`` summarise its traces with the
    course model and with the accelerator stand-in (``helpers.accelerator``); ``history`` is the
    fit's, for the last validation accuracy. A number already read from one of them does as well.
    ``decodes`` is False for a pipeline that no longer decodes every full-size image on every pass
    (a cache, records of images already resized): notebook 11 gives it as a multiple of the ceiling.
    """

    name: str
    measured: Rate | float
    ceiling: Rate | float
    timer: Timer | Sequence[float] | None = None
    trace: Trace | float | None = None
    stand_in: Trace | float | None = None
    history: History | float | None = None
    images_used: int | None = None
    decodes: bool = True

    def figures(self) -> dict:
        """The numbers every pipeline records, under the names the comparison reads."""
        rate = _read(self.measured, "images_per_second")
        ceiling = _read(self.ceiling, "images_per_second")
        history = _read(
            self.history, "history"
        )  # the fit's accuracies by epoch, or one already read
        return {
            "pipeline": self.name,
            "images_per_second": rate,
            "decode_ceiling": ceiling,
            "percent_of_ceiling": 100 * rate / ceiling,  # as measure.percent_of_ceiling
            "epoch_seconds": None if self.timer is None else list(_read(self.timer, "seconds")),
            "wait_share": _read(self.trace, "wait_share"),
            "wait_share_accelerator": _read(self.stand_in, "wait_share"),
            "val_accuracy": history["val_accuracy"][-1] if isinstance(history, dict) else history,
            "images_used": self.images_used,
            "decodes": self.decodes,
        }


def _read(held: object, attribute: str) -> object:
    """``held.<attribute>`` of a measured object; a number already read from one (or None) as it is."""
    return getattr(held, attribute, held)


# The names ``Pipeline.figures`` records: an extra may not take one, nor a near miss of one.
FIGURE_NAMES = tuple(Pipeline("", 1.0, 1.0).figures())


def result_path(notebook: str) -> Path:
    """Where a notebook's results go: ``<results dir>/<notebook>.json``."""
    return settings().results_dir / f"{notebook}.json"


@dataclass(frozen=True)
class Recorded:
    """A notebook's recorded numbers: where they went, and its rows exactly as notebook 11 shows them."""

    path: Path
    rows: list[dict]
    lessons: list[dict]

    def __repr__(self) -> str:  # the plain-text output beside the Markdown: no machine path
        lessons = f", {len(self.lessons)} lesson row(s)" if self.lessons else ""
        return f"Recorded in {display_path(self.path)}: {len(self.rows)} pipeline row(s){lessons}"

    def _repr_markdown_(self) -> str:  # how a notebook shows it
        tables = [comparison_table(self.rows, markdown=True)] if self.rows else []
        tables += [lesson_table(self.lessons)] if self.lessons else []
        saved = f"Recorded in `{display_path(self.path)}`"
        return (
            "\n\n".join([f"{saved}; as the results notebook will show it:", *tables])
            if tables
            else saved
        )


def record(
    notebook: str,
    *pipelines: Pipeline,
    conditions: Mapping[str, dict] | None = None,
    **extras: object,
) -> Recorded:
    """Write a notebook's pipelines and numbers, with the context they were measured in; end a cell with it.

    ``notebook`` is the notebook's file name without ``.ipynb``; recording again replaces the file.
    ``extras`` are a lesson's numbers, under the names ``helpers.lessons.LESSONS`` reads, and a few
    named figures (a dict groups several); a measured rate among them is kept as its images/s.
    ``conditions`` maps a number's name to what it was measured under (``conditions.conditions``).
    Nothing is written, and an error says why, when an extra takes a pipeline figure's name or looks
    like a misspelt lesson number or figure, or when a lesson's two sides were recorded with
    conditions that differ in more than the lesson's ``varies`` (``UnlikeSides``).
    """
    for name in extras:
        if like := _misspelt(name):
            raise ValueError(
                f"{name!r} looks like {like!r}: a pipeline's figures come from a results.Pipeline, "
                "a lesson's number takes the exact name its entry of helpers.lessons.LESSONS reads"
            )
    path = result_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "notebook": notebook,
        "pipelines": [pipeline.figures() for pipeline in pipelines],
        "numbers": extras,
        "conditions": conditions or {},
        "context": measurement_context(),
    }
    from helpers.conditions import check_rows  # here: reading results needs no TensorFlow

    check_rows(result["pipelines"], result["conditions"])  # a row's figures measured alike
    text = json.dumps(result, indent=2, default=_plain)
    lesson_rows({**load_results(path.parent), notebook: json.loads(text)})  # refuses unlike sides
    path.write_text(text)
    lessons = [row for row in lesson_rows(load_results(path.parent)) if row["notebook"] == notebook]
    return Recorded(path, pipeline_rows({notebook: json.loads(text)}), lessons)


def _misspelt(name: str) -> str | None:
    """The pipeline figure or lesson number an extra's ``name`` takes or nearly spells; None if neither."""
    if name in LESSON_KEYS:
        return None
    if name in FIGURE_NAMES:
        return name
    like = difflib.get_close_matches(name, [*FIGURE_NAMES, *sorted(LESSON_KEYS)], n=1, cutoff=0.9)
    return like[0] if like else None


def _plain(value: object) -> float:
    """A number JSON can hold: a NumPy scalar's value, a measured rate's images/s."""
    return float(_read(value, "images_per_second"))


def measurement_context() -> dict:
    """Scale, dataset, image and batch size, core count, TensorFlow version and the time, now."""
    import tensorflow as tf  # here, not at the top: reading results needs no TensorFlow

    current = settings()
    return {
        "scale": current.scale.name,
        "dataset": current.dataset,
        "image_size": current.scale.image_size,
        "batch_size": current.scale.batch_size,
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_results(results_dir: Path | str | None = None) -> dict[str, dict]:
    """Every recorded result, by notebook name, in name order."""
    folder = Path(results_dir or settings().results_dir)
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def missing_results(expected: Iterable[str], results: Mapping[str, dict]) -> list[str]:
    """One line for each expected notebook without results, naming the notebook to run."""
    return [
        f"No results for {name} ({display_path(result_path(name))}): run notebooks/{name}.ipynb"
        for name in expected
        if name not in results
    ]
