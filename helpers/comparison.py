"""The course's comparison: a row per recorded pipeline, its columns, and the tables built from them.

Rows come from what ``results.record`` wrote: each pipeline's standard figures (``results.Pipeline``)
and the context its notebook was measured in. Notebook 11, the README's headline figures and the
course's command line show the same rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from helpers.tables import format_table

# Shown beside the numbers; what a fair comparison holds equal: the run's scale and data, the machine.
CONTEXT_COLUMNS = ("scale", "dataset", "image_size", "batch_size", "cpu_count", "tensorflow")
# The comparison table: a pipeline row's keys, their headers and formats.
PIPELINE_COLUMNS = {
    "notebook": "notebook",
    "pipeline": "pipeline",
    "images_per_second": "images/s",
    "percent_of_ceiling": "% of full-decode ceiling",
    "decode_ceiling": "full-decode ceiling, images/s",
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


def pipeline_rows(results: Mapping[str, dict]) -> list[dict]:
    """One row per pipeline recorded, in course order, with the context it was measured in.

    Results without pipelines (notebooks 00 and 04) make no row.
    """
    return [
        _pipeline_row(name, figures, result["context"])
        for name, result in results.items()
        for figures in result.get("pipelines", [])
    ]


# A pipeline's recorded figures that its row shows as they are.
_FIGURES_SHOWN = (
    "pipeline",
    "images_per_second",
    "percent_of_ceiling",
    "decode_ceiling",
    "val_accuracy",
)


def _pipeline_row(notebook: str, figures: Mapping, context: Mapping) -> dict:
    epochs = figures.get("epoch_seconds") or []
    wait_share, wait_share_accelerator = (
        figures.get("wait_share"),
        figures.get("wait_share_accelerator"),
    )
    return {
        "notebook": notebook,
        **{key: figures.get(key) for key in _FIGURES_SHOWN},
        "first_epoch_seconds": epochs[0] if epochs else None,
        "later_epoch_seconds": statistics.median(epochs[1:]) if len(epochs) > 1 else None,
        "waiting_percent": None if wait_share is None else 100 * wait_share,
        "waiting_accelerator_percent": None
        if wait_share_accelerator is None
        else 100 * wait_share_accelerator,
        "predicted_waiting_accelerator_percent": None
        if wait_share_accelerator is None
        else _predicted_waiting_percent(figures.get("images_per_second"), context),
        "decodes": figures.get("decodes", True),
        **{column: context.get(column) for column in CONTEXT_COLUMNS},
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
