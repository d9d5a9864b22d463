"""Measured numbers, one JSON file per notebook, and the table that compares them (charts: ``helpers.plots``).

A notebook calls ``record("<its file name>", images_per_second=..., ...)``; the file keeps
the context the numbers were measured in, so the results notebook can tell a fair
comparison (same scale, same machine) from an unfair one.

Every notebook that teaches a pipeline records the same numbers under the same names:
``pipeline`` (a short name), ``images_per_second`` (input only), ``decode_ceiling``,
``percent_of_ceiling``, ``epoch_seconds`` (a list), ``wait_share`` (0..1, from the trace of the
course model), ``wait_share_accelerator`` (from the trace of ``helpers.accelerator``'s stand-in
step: an A100's demand on this host; its table shows beside it the wait that ``images_per_second``
predicts) and ``val_accuracy``. A second pipeline measured in the same notebook records them again
with a suffix, named by ``pipeline_<suffix>``; ``pipeline_rows`` makes it a row of its own.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from helpers.config import display_path, settings

# Shown beside the numbers; what a fair comparison holds equal: the run's scale and data, the machine.
CONTEXT_COLUMNS = ("scale", "dataset", "image_size", "batch_size", "cpu_count", "tensorflow")
# The comparison table: a pipeline row's keys, their headers and formats.
PIPELINE_COLUMNS = {
    "notebook": "notebook",
    "pipeline": "pipeline",
    "images_per_second": "images/s",
    "percent_of_ceiling": "% of ceiling",
    "decode_ceiling": "ceiling images/s",
    "first_epoch_seconds": "epoch 1 s",
    "later_epoch_seconds": "later epochs s",
    "waiting_percent": "% waiting",
    "waiting_accelerator_percent": "% waiting, A100's demand",
    "predicted_waiting_accelerator_percent": "% predicted from images/s",
    "val_accuracy": "val accuracy",
    "scale": "scale",
    "dataset": "dataset",
    "image_size": "px",
    "batch_size": "batch",
    "cpu_count": "cores",
    "tensorflow": "TF",
}
PIPELINE_FORMATS = {
    "images_per_second": "{:,.0f}",
    "percent_of_ceiling": "{:,.0f}",
    "decode_ceiling": "{:,.0f}",
    "first_epoch_seconds": "{:.1f}",
    "later_epoch_seconds": "{:.1f}",
    "waiting_percent": "{:.1f}",
    "waiting_accelerator_percent": "{:.1f}",
    "predicted_waiting_accelerator_percent": "{:.1f}",
    "val_accuracy": "{:.2f}",
}
# A pipeline that decodes every image reads at most this multiple of its decode ceiling (noise).
CEILING_NOISE = 1.05
# The README's headline figures: the comparison's pipeline columns, from the same committed run.
HEADLINE_COLUMNS = {
    key: PIPELINE_COLUMNS[key]
    for key in (
        "notebook",
        "pipeline",
        "images_per_second",
        "percent_of_ceiling",
        "waiting_percent",
        "waiting_accelerator_percent",
        "predicted_waiting_accelerator_percent",
        "val_accuracy",
    )
}


@dataclass(frozen=True)
class Lesson:
    """A headline lesson of the articles the course is built from, and the two numbers measured for it.

    ``shown`` formats the pair: ``{0}`` and ``{1}`` are the numbers named in ``measured``, ``{ratio}``
    is the second over the first. Its row belongs to the notebook that recorded the later of the two.
    ``varies`` names the one condition (``helpers.conditions``) its two sides may differ in; when
    both sides recorded their conditions, a difference in anything else is refused.
    """

    name: str
    articles: str
    measured: tuple[str, str]
    shown: str
    varies: str


class UnlikeSides(ValueError):
    """A lesson's two measurements differ in more than the one condition the lesson is about."""


LESSONS = (
    Lesson(
        "shuffling: validation accuracy, a class-sorted list through a small buffer, then a full shuffle",
        "about ten points of accuracy",
        ("val_accuracy_sorted_small_buffer", "val_accuracy_full_shuffle"),
        "{0:.2f} → {1:.2f}",
        "shuffle",
    ),
    Lesson(
        "a per-image label op, a demonstration at a TPU v3-8 host's demand: images/s, input only, of the "
        "same map computing each label with string ops, then passing the label from Python",
        "the label op took 73 % of the step",
        ("images_per_second_string_labels", "images_per_second_python_labels"),
        "{0:,.0f} → {1:,.0f} ({ratio:.1f}×)",
        "label op",
    ),
    Lesson(
        "input scale: validation accuracy of one model trained on images in 0–255, the same validation "
        "images given in 0–255, then divided by 255",
        "it expects 0–255; dividing by 255 hurts",
        ("val_accuracy_0_255", "val_accuracy_div255"),
        "{0:.2f} → {1:.2f}",
        "input scale",
    ),
    Lesson(
        "a fair baseline under `fit`, augmenting alike: images/s, ImageDataGenerator with worker "
        "threads, then tf.data with the same transformations as Keras layers",
        "tf.data 2.5× (a GPU, MobileNet, per epoch)",
        ("images_per_second_idg_workers", "images_per_second_tf_data_fit"),
        "{0:,.0f} → {1:,.0f} ({ratio:.2f}×)",
        "loader",
    ),
    Lesson(
        "the same fair baseline, neither augmenting: images/s, ImageDataGenerator with worker "
        "threads, then tf.data",
        "tf.data 2.5× (a GPU, MobileNet, per epoch)",
        ("images_per_second_idg_workers_unaugmented", "images_per_second_tf_data_fit_unaugmented"),
        "{0:,.0f} → {1:,.0f} ({ratio:.2f}×)",
        "loader",
    ),
    Lesson(
        "a warm file cache: input-only images/s of one augmented tf.data pipeline, without the cache, "
        "then with it",
        "tf.data with a file cache 4.14× ImageDataGenerator (another baseline)",
        ("images_per_second_augmented_uncached", "images_per_second_augmented_cached"),
        "{0:,.0f} → {1:,.0f} ({ratio:.1f}×)",
        "cache",
    ),
    Lesson(
        "cache memory: MiB a process's peak grows per MiB of decoded images cached, a file cache, "
        "then an in-memory cache",
        "an in-memory cache crashes past RAM; an 18 GB folder made a 90 GB cache file",
        ("file_cache_growth", "in_memory_cache_growth"),
        "{0:.2f} → {1:.2f}",
        "cache",
    ),
)
LESSON_COLUMNS = {
    "notebook": "notebook",
    "lesson": "lesson",
    "articles": "the articles",
    "measured": "measured here",
    "differs_in": "its sides differ in",
}


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
    notebook: str, conditions: Mapping[str, dict] | None = None, **numbers: float
) -> Recorded:
    """Write a notebook's numbers, with the context they were measured in; end a cell with it to show them.

    ``notebook`` is the notebook's file name without ``.ipynb``. Recording again replaces the file.
    ``conditions`` maps a number's name to what it was measured under (``conditions.conditions``);
    a lesson whose two sides were recorded with conditions that differ in more than the lesson's
    ``varies`` raises ``UnlikeSides``, and nothing is written.
    """
    path = result_path(notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "notebook": notebook,
        "numbers": numbers,
        "conditions": conditions or {},
        "context": measurement_context(),
    }
    from helpers.conditions import check_rows  # here: reading results needs no TensorFlow

    check_rows(numbers, result["conditions"])  # a row's figures measured alike, or refused
    text = json.dumps(result, indent=2, default=float)  # default: NumPy scalars
    lesson_rows({**load_results(path.parent), notebook: json.loads(text)})  # refuses unlike sides
    path.write_text(text)
    lessons = [row for row in lesson_rows(load_results(path.parent)) if row["notebook"] == notebook]
    return Recorded(path, pipeline_rows({notebook: json.loads(path.read_text())}), lessons)


def measurement_context() -> dict:
    """Scale, dataset, image and batch size, core count, TensorFlow version and the time, now."""
    import tensorflow as tf  # here, not at the top: reading results needs no TensorFlow

    run = settings()
    return {
        "scale": run.scale.name,
        "dataset": run.dataset,
        "image_size": run.scale.image_size,
        "batch_size": run.scale.batch_size,
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


def format_table(
    rows: Sequence[Mapping],
    headers: Mapping[str, str] | None = None,
    formats: Mapping[str, str] | None = None,
    markdown: bool = False,
) -> str:
    """Rows as an aligned text table, or a Markdown one: text left, numbers right, absent values as '-'.

    ``headers`` chooses the columns and names them (default: every key, as it is); ``formats``
    gives some columns a format (default: two decimals for floats, thousands separators).
    """
    headers = headers or {key: key for row in rows for key in row}
    formats = formats or {}
    lines = [
        list(headers.values()),
        *([_cell(row.get(key), formats.get(key)) for key in headers] for row in rows),
    ]
    numeric = [
        all(isinstance(row.get(key), (int, float, type(None))) for row in rows) for key in headers
    ]
    if markdown:
        rule = ["---:" if right else ":---" for right in numeric]
        return "\n".join("| " + " | ".join(line) + " |" for line in [lines[0], rule, *lines[1:]])
    widths = [max(map(len, column)) for column in zip(*lines)]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(line, widths, numeric)
        ).rstrip()
        for line in lines
    )


def _cell(value: object, fmt: str | None = None) -> str:
    if value is None:
        return "-"
    if fmt:
        return fmt.format(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def pipeline_rows(results: Mapping[str, dict]) -> list[dict]:
    """One row per pipeline measured, in course order, with the context it was measured in.

    A result's shared numbers make its row. Numbers recorded again with a suffix make a row of
    their own when the notebook names that pipeline with ``pipeline_<suffix>`` (notebook 07's
    ``_preresized``); such a row shares its notebook's decode ceiling unless it recorded its own.
    Suffixed numbers of no named pipeline (``images_per_second_unaugmented``: the same iterator
    doing other work than its row's) make no row. Results without a ``pipeline`` (notebook 00) make none.
    """
    return [
        _pipeline_row(name, result, key.removeprefix("pipeline"))
        for name, result in results.items()
        for key in result["numbers"]
        if key == "pipeline" or key.startswith("pipeline_")
    ]


def _pipeline_row(notebook: str, result: Mapping, suffix: str) -> dict:
    number = result["numbers"].get
    epochs = number("epoch_seconds" + suffix) or []
    wait_share, wait_share_accelerator = (
        number("wait_share" + suffix),
        number("wait_share_accelerator" + suffix),
    )
    return {
        "notebook": notebook,
        "pipeline": number("pipeline" + suffix),
        "images_per_second": number("images_per_second" + suffix),
        "percent_of_ceiling": number("percent_of_ceiling" + suffix),
        "decode_ceiling": number("decode_ceiling" + suffix, number("decode_ceiling")),
        "first_epoch_seconds": epochs[0] if epochs else None,
        "later_epoch_seconds": statistics.median(epochs[1:]) if len(epochs) > 1 else None,
        "waiting_percent": None if wait_share is None else 100 * wait_share,
        "waiting_accelerator_percent": None
        if wait_share_accelerator is None
        else 100 * wait_share_accelerator,
        "predicted_waiting_accelerator_percent": _predicted_waiting_percent(
            number("images_per_second" + suffix), result["context"]
        )
        if wait_share_accelerator is not None
        else None,
        "val_accuracy": number("val_accuracy" + suffix),
        "decodes": number("decodes" + suffix, True),
        **{column: result["context"].get(column) for column in CONTEXT_COLUMNS},
    }


def _predicted_waiting_percent(images_per_second: float | None, context: Mapping) -> float | None:
    """The wait the A100 stand-in's step predicts from the pipeline's recorded input-only images/s."""
    from helpers import accelerator  # here: reading results needs no TensorFlow until this

    size, batch = context.get("image_size"), context.get("batch_size")
    if None in (images_per_second, size, batch):
        return None
    device_ms = accelerator.A100.step_ms(size, batch)
    return 100 * accelerator.predicted_wait_share(images_per_second, device_ms, batch)


def comparison_table(rows: Sequence[Mapping], markdown: bool = False) -> str:
    """The course's comparison: a line per pipeline row, its numbers and what they were measured on."""
    if not rows:
        return "No pipeline results yet."
    return format_table(rows, PIPELINE_COLUMNS, PIPELINE_FORMATS, markdown=markdown)


def headline_table(rows: Sequence[Mapping]) -> str:
    """The README's headline figures: the comparison's pipeline columns, as Markdown."""
    return format_table(rows, HEADLINE_COLUMNS, PIPELINE_FORMATS, markdown=True)


def lesson_rows(results: Mapping[str, dict], lessons: Sequence[Lesson] = LESSONS) -> list[dict]:
    """A row for each lesson whose two numbers were both recorded, in course order.

    Raises ``UnlikeSides`` when both sides recorded conditions that differ in more than the
    lesson's ``varies``; a row whose sides recorded none says its conditions were not checked.
    """
    rows = []
    for lesson in lessons:
        found = {
            name: (notebook, result["numbers"][name], result.get("conditions", {}).get(name))
            for notebook, result in results.items()
            for name in lesson.measured
            if name in result["numbers"]
        }
        if len(found) == len(lesson.measured):
            (_, first, before), (_, second, after) = (found[name] for name in lesson.measured)
            rows.append(
                {
                    "notebook": max(notebook for notebook, _, _ in found.values()),
                    "lesson": lesson.name,
                    "articles": lesson.articles,
                    "measured": lesson.shown.format(
                        first, second, ratio=second / first if first else 0
                    ),
                    "differs_in": _differs_in(lesson, before, after),
                }
            )
    return sorted(rows, key=lambda row: row["notebook"])


def _differs_in(lesson: Lesson, before: Mapping | None, after: Mapping | None) -> str:
    """The lesson's ``varies``, checked against both sides' conditions when they were recorded."""
    if before is None or after is None:
        return f"{lesson.varies} (not checked)"
    varies = lesson.varies.replace(" ", "_")  # the condition's name, as a keyword gives it
    if varies in before and before[varies] == after.get(varies):
        raise UnlikeSides(
            f"{lesson.name}: its sides should differ in {lesson.varies}, but both record "
            f"{before[varies]!r}"
        )
    unlike = sorted(
        key
        for key in before.keys() | after.keys()
        if key != varies and before.get(key) != after.get(key)
    )
    if unlike:
        raise UnlikeSides(
            f"{lesson.name}: its sides should differ only in {lesson.varies}, but they differ in "
            + "; ".join(f"{key} ({before.get(key)!r} against {after.get(key)!r})" for key in unlike)
        )
    alike = sorted(key.replace("_", " ") for key in before.keys() - {varies})
    return f"{lesson.varies} only: " + ", ".join(alike) + " alike"


def lesson_table(rows: Sequence[Mapping]) -> str:
    """The articles' lessons beside what the notebooks measured, as Markdown."""
    return format_table(rows, LESSON_COLUMNS, markdown=True) if rows else "No lesson measured yet."


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The rows of every Markdown table in ``text``, each as {header: cell}."""
    rows, headers = [], None
    for line in text.splitlines():
        cells = (
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            if line.startswith("|")
            else None
        )
        if cells is None:
            headers = None
        elif headers is None:
            headers = cells
        elif not all(set(cell) <= set(":-") for cell in cells):
            rows.append(dict(zip(headers, cells)))
    return rows


def context_differences(rows: Sequence[Mapping]) -> list[str]:
    """A line for each part of the context (scale, dataset, image size, batch, cores, TF) the rows differ in."""
    lines = []
    for column in CONTEXT_COLUMNS:
        notebooks_by_value: dict = {}
        for row in rows:
            notebooks_by_value.setdefault(row.get(column), {})[row["notebook"][:2]] = None
        if len(notebooks_by_value) > 1:
            lines.append(
                f"{PIPELINE_COLUMNS[column]} differs: "
                + "; ".join(
                    f"{value} in {', '.join(notebooks)}"
                    for value, notebooks in notebooks_by_value.items()
                )
            )
    return lines


def decode_ceilings(rows: Sequence[Mapping]) -> list[float]:
    """The decode ceilings measured beside the rows, each measurement once (a notebook's rows share theirs)."""
    return [
        ceiling
        for _, ceiling in dict.fromkeys(
            (row["notebook"], row["decode_ceiling"]) for row in rows if row.get("decode_ceiling")
        )
    ]


def ceiling_multiple(row: Mapping) -> float | None:
    """The row's images/s as a multiple of the decode ceiling measured beside it; None without both."""
    rate, ceiling = row.get("images_per_second"), row.get("decode_ceiling")
    return rate / ceiling if rate is not None and ceiling else None


def decodes(row: Mapping) -> bool:
    """Whether the row's pipeline decodes every full-size image on every pass (its notebook says so).

    Notebooks record ``decodes=False`` for pipelines that no longer do: a cache, records of images
    already resized. Those are compared with the decode ceiling as multiples, the others in percent.
    """
    return row.get("decodes", True)


def extremes(rows: Sequence[Mapping], column: str) -> tuple[Mapping | None, Mapping | None]:
    """The rows with the lowest and the highest value in ``column``; ``(None, None)`` if no row has one."""
    have = sorted((row for row in rows if row.get(column) is not None), key=lambda row: row[column])
    return (have[0], have[-1]) if have else (None, None)
