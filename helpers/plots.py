"""Every chart of the course: the dataset (sample images, images per class, sizes), a traced
step's timeline, and the results notebook's comparisons."""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from PIL import Image

from helpers.comparison import ceiling_multiple, decodes
from helpers.messy import SideBySide
from helpers.profiling import StepSummary, clip
from helpers.results import CEILING_NOISE
from helpers.scan import ImageFile, ScanReport

COLORS = {
    "computing": "tab:blue",
    "waiting for input": "tab:orange",
    "input pipeline": "tab:green",
    "device": "tab:purple",
}
# comparisons: one size for any number of rows, room for the course's dozen pipelines
FIGURE_SIZE = (9, 4.8)
MANY_CLASSES = 30  # past this, bars lose their labels and become a sorted profile


def sample_grid(
    images: Sequence[ImageFile], columns: int = 6, rows: int = 2, seed: int = 0
) -> Figure:
    """A grid of randomly chosen images, each titled with its class and original size."""
    chosen = random.Random(seed).sample(list(images), min(len(images), columns * rows))
    figure, axes = plt.subplots(rows, columns, figsize=(1.7 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image in zip(axes.flat, chosen):
        with Image.open(image.path) as picture:
            ax.imshow(picture.convert("RGB"))
        ax.set_title(f"{image.label}\n{image.width}×{image.height}", fontsize=9)
    figure.tight_layout()
    return figure


def class_counts(report: ScanReport) -> Figure:
    """Good images per class: balanced classes show as bars of one height."""
    counts = report.per_class()
    figure, ax = plt.subplots(figsize=(8, 3))
    if len(counts) <= MANY_CLASSES:
        ax.bar(list(counts), list(counts.values()), color="tab:blue")
        ax.tick_params(axis="x", labelrotation=45)
    else:
        ax.bar(
            range(len(counts)), sorted(counts.values(), reverse=True), width=1.0, color="tab:blue"
        )
        ax.set_xlabel(f"{len(counts)} classes, largest first")
    ax.set_ylabel("images")
    ax.set_title(f"Images per class ({sum(counts.values())} in all)")
    figure.tight_layout()
    return figure


def size_histograms(report: ScanReport) -> Figure:
    """Image sides in pixels and file sizes in KB: what decoding and resizing will cost."""
    figure, (sides, weights) = plt.subplots(1, 2, figsize=(10, 3))
    sides.hist([f.width for f in report.good], bins=30, alpha=0.6, label="width")
    sides.hist([f.height for f in report.good], bins=30, alpha=0.6, label="height")
    sides.set_xlabel("pixels")
    sides.set_title("Image sides")
    sides.legend()
    weights.hist([f.size_bytes / 1e3 for f in report.good], bins=30, color="tab:green")
    weights.set_xlabel("KB")
    weights.set_title("File sizes")
    for ax in (sides, weights):
        ax.set_ylabel("images")
    figure.tight_layout()
    return figure


def timeline(summary: StepSummary, steps: int = 3) -> Figure:
    """Draw the first traced steps: computing vs waiting for input, and the other lanes below."""
    shown = summary.steps[:steps]
    end = shown[-1].start_ms + shown[-1].time_ms
    figure = Figure(figsize=(10, 1.2 + 0.5 * (1 + len(summary.lanes))), layout="constrained")
    ax = figure.add_subplot()
    for step in shown:
        ax.broken_barh([(step.start_ms, step.time_ms)], (-0.4, 0.8), color=COLORS["computing"])
        ax.broken_barh(
            [(s, e - s) for s, e in step.waits], (-0.4, 0.8), color=COLORS["waiting for input"]
        )
        ax.axvline(step.start_ms, color="black", linewidth=0.8)
        ax.text(step.start_ms, -0.45, f" step {step.number}", fontsize=8)
    legend = ["computing", "waiting for input"]
    for row, (lane, intervals) in enumerate(summary.lanes.items(), start=1):
        kind = lane if lane in COLORS else "device"
        ax.broken_barh(
            [(s, e - s) for s, e in clip(intervals, 0, end)], (row - 0.4, 0.8), color=COLORS[kind]
        )
        if kind not in legend:
            legend.append(kind)
    ax.set_yticks(range(1 + len(summary.lanes)), ["training step", *summary.lanes])
    ax.set_ylim(len(summary.lanes) + 0.6, -1)  # first lane on top
    ax.set_xlim(0, end)
    ax.set_xlabel("ms from the first traced step")
    ax.set_title(
        f"{summary.run}: {summary.bound}, {summary.wait_share:.0%} of each step waiting for input",
        fontsize=10,
    )
    ax.legend(
        handles=[Patch(color=COLORS[kind], label=kind) for kind in legend],
        loc="upper left",
        bbox_to_anchor=(1, 1),
        fontsize=8,
    )
    return figure


def plot_throughput(rows: Sequence[Mapping]) -> Figure:
    """Input-only images/s: pipelines that decode in full against the full-decode ceiling measured
    beside each, those that decode less or nothing (decoding at a ratio, a cache, pre-resized records)
    as multiples of it, in a panel below."""
    decoding = [row for row in rows if decodes(row)]
    beyond = [{**row, "multiple": ceiling_multiple(row)} for row in rows if not decodes(row)]
    figure, panels = _figure(len(decoding), len(beyond))
    if decoding or not beyond:
        axes = panels.pop(0)
        ceilings = [row.get("decode_ceiling") for row in decoding]
        _bars(
            axes,
            decoding,
            {"images_per_second": None},
            "input-only images/s",
            _rate_and_percent,
            marks=ceilings,
        )
        _marks(axes, ceilings, "its full-decode ceiling, measured beside it")
    if beyond:
        axes = panels.pop(0)
        _bars(
            axes,
            beyond,
            {"multiple": None},
            "input-only images/s, as a multiple of its full-decode ceiling",
            lambda row, multiple: f"{multiple:,.1f}× ({row['images_per_second']:,.0f} images/s)",
        )
        axes.axvline(
            1, color="black", linestyle="--", linewidth=1, label="1× the full-decode ceiling"
        )
    if any(axes.get_legend_handles_labels()[0] for axes in figure.axes):
        figure.legend(loc="outside upper center", ncols=2, fontsize=8)
    return figure


def _rate_and_percent(row: Mapping, rate: float) -> str:
    multiple = ceiling_multiple(row)
    return f"{rate:,.0f}" + (
        "" if multiple is None else f" · {100 * multiple:.0f} % of its ceiling"
    )


def plot_waiting(rows: Sequence[Mapping]) -> Figure:
    """The share of each traced training step spent waiting for input, in percent: the course model's
    step on the CPU, and the stand-in for an A100's demand, a bar each per pipeline."""
    figure, (axes,) = _figure(len(rows))
    _bars(
        axes,
        rows,
        {
            "waiting_percent": "course model, computing on the CPU",
            "waiting_accelerator_percent": "an A100's demand (the stand-in), the CPU left free",
        },
        "% of the training step waiting for input (from the trace)",
        "{:.1f} %",
    )
    axes.set_xlim(0, 110)  # a whole step is 100 %; room for the labels
    if rows:
        figure.legend(loc="outside upper center", ncols=2, fontsize=8)
    return figure


def plot_epochs(rows: Sequence[Mapping]) -> Figure:
    """Seconds per training epoch: a bar for the later epochs (median), a mark for the first."""
    figure, (axes,) = _figure(len(rows))
    firsts = [row.get("first_epoch_seconds") for row in rows]
    _bars(
        axes,
        rows,
        {"later_epoch_seconds": "later epochs (median)"},
        "seconds per training epoch",
        _later_and_first,
        marks=firsts,
    )
    if _marks(axes, firsts, "first epoch"):
        figure.legend(loc="outside upper center", ncols=2, fontsize=8)
    return figure


def _later_and_first(row: Mapping, later: float) -> str:
    first = row.get("first_epoch_seconds")
    return f"{later:.1f} s" + ("" if first is None else f" · first {first:.1f} s")


def row_label(row: Mapping, width: int = 44) -> str:
    """A row as a chart names it: its notebook's number and its pipeline, wrapped; else the notebook."""
    name = f"{row['notebook'][:2]} · {row['pipeline']}" if row.get("pipeline") else row["notebook"]
    return textwrap.fill(name, width, break_long_words=False)


def _figure(*row_counts: int) -> tuple[Figure, list]:
    """A comparison's figure, one size for any number of rows (its text stays the same from run to run),
    with a panel for each non-zero count of rows, as tall as its rows; one panel if none has rows."""
    figure = Figure(figsize=FIGURE_SIZE, layout="constrained")
    counts = [count for count in row_counts if count] or [1]
    return figure, list(figure.subplots(len(counts), 1, height_ratios=counts, squeeze=False)[:, 0])


def _marks(axes, values: Sequence[float | None], label: str) -> bool:
    """A black mark on each row at its value (rows without one get none); whether any was drawn."""
    marks = [(value, y) for y, value in enumerate(values) if value]
    if marks:
        axes.scatter(
            *zip(*marks), marker="|", s=300, linewidths=2, color="black", zorder=3, label=label
        )
    return bool(marks)


def _bars(
    axes,
    rows: Sequence[Mapping],
    series: Mapping[str, str | None],
    xlabel: str,
    fmt: str | Callable[[Mapping, float], str],
    marks: Sequence[float | None] = (),
) -> None:
    """A horizontal bar per row for each series (``{column: legend}``, side by side), first row on top.

    Each bar is labelled with its value (``fmt``: a format, or a function of the row and the value),
    past the row's mark if it has one (``marks``, drawn by ``_marks``); a row without it says "not recorded".
    """
    axes.set_xlabel(xlabel)
    if not rows:
        axes.text(0.5, 0.5, "no results yet", ha="center", va="center", transform=axes.transAxes)
        return
    height = 0.8 / len(series)
    for i, (column, legend) in enumerate(series.items()):
        values = [row.get(column) for row in rows]
        offset = (i - (len(series) - 1) / 2) * height
        axes.barh(
            [y + offset for y in range(len(rows))],
            [value or 0 for value in values],
            height,
            label=legend,
        )
        for y, (row, value, mark) in enumerate(zip(rows, values, [*marks, *[None] * len(rows)])):
            text = (
                "not recorded"
                if value is None
                else fmt(row, value)
                if callable(fmt)
                else fmt.format(value)
            )
            axes.annotate(
                text,
                (max(value or 0, mark or 0), y + offset),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    axes.set_yticks(range(len(rows)), [row_label(row) for row in rows], fontsize=8)
    axes.set_ylim(len(rows) - 0.5, -0.5)  # first row on top, as in the table
    axes.margins(x=0.15)  # room for the labels


def image_row(images: Sequence, titles: Sequence[str]) -> Figure:
    """Images side by side, each with its title: arrays or tensors of rank 3, values in [0, 255]."""
    import numpy as np

    figure = Figure(figsize=(1.75 * len(images), 2.0), layout="constrained")
    for ax, image, title in zip(
        figure.subplots(1, len(images), squeeze=False).flat, images, titles
    ):
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype("uint8"))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return figure


def accuracy_per_epoch(curves: Mapping[str, Sequence[float]]) -> Figure:
    """Validation accuracy after each epoch, a line per training run: notebook 03's shuffling lesson."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    ax = figure.subplots()
    for label, accuracies in curves.items():
        ax.plot(range(1, len(accuracies) + 1), accuracies, marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1.05)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)
    return figure


def loader_epochs(table: SideBySide) -> Figure:
    """Images each loader delivered in one epoch of a messy folder, without the scan and with it.

    A crash shows as an empty bar marked "crashed"; the dashed line is the folder's good images.
    """
    names = list(table.without)
    figure = Figure(figsize=(9, 1.2 + 0.55 * len(names)), layout="constrained")
    ax = figure.subplots()
    for offset, (label, epochs, color) in enumerate(
        (
            ("without the scan", table.without, "tab:orange"),
            ("with the scan", table.with_scan, "tab:blue"),
        )
    ):
        rows = [i for i, name in enumerate(names) if name in epochs]
        found = [epochs[names[i]] for i in rows]
        bars = ax.barh(
            [i - 0.2 + 0.4 * offset for i in rows],
            [e.images for e in found],
            height=0.4,
            color=color,
            label=label,
        )
        for text, epoch in zip(
            ax.bar_label(
                bars,
                ["crashed" if e.error else f"{e.images}" for e in found],
                padding=3,
                fontsize=8,
            ),
            found,
        ):
            text.set_color("tab:red" if epoch.error else "black")
    line = ax.axvline(
        table.good, color="black", linestyle="--", linewidth=1, label=f"good images: {table.good}"
    )
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first loader on top, as in the table
    ax.set_xlim(0, 1.25 * table.good)
    ax.set_xlabel("images delivered in one epoch")
    handles = [h for h in ax.get_legend_handles_labels()[0] if h is not line] + [line]
    figure.legend(handles=handles, loc="outside upper center", ncols=3, fontsize=8)
    return figure


def composites(images: Sequence, masks: Sequence, count: int = 6) -> Figure:
    """The first ``count`` composites (float32 in [0, 255]) in a row, each with its mask below it."""
    import numpy as np  # only this chart needs it

    figure = Figure(figsize=(2 * count, 4.4), layout="constrained")
    axes = figure.subplots(2, count, squeeze=False)
    for column in range(count):
        axes[0, column].imshow(np.asarray(images[column]).clip(0, 255).astype("uint8"))
        axes[1, column].imshow(np.asarray(masks[column])[..., 0], cmap="gray", vmin=0, vmax=1)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].set_title("composites (above) and their masks (below)", loc="left", fontsize=10)
    return figure


def ceiling_panels(
    rates: Mapping[str, float], ceiling: float, decoding: Sequence[str] | None = None
) -> Figure:
    """Images/s against the full-decode ceiling measured beside them, first on top: the pipelines
    named in ``decoding`` (default: all) in percent of it (dashed line: 100 %), the others (decoding
    at a ratio, a warm cache, pre-resized records: they decode less or nothing) as multiples of it,
    in a panel below.

    A decoding pipeline past the ceiling by more than the noise (``results.CEILING_NOISE``) is drawn
    red: it does the ceiling's work per image and more, so its rounds met a quieter machine.
    """

    decoding = list(rates) if decoding is None else decoding
    groups = [
        (names, percent)
        for names, percent in (
            ([n for n in rates if n in decoding], True),
            ([n for n in rates if n not in decoding], False),
        )
        if names
    ]
    figure = Figure(figsize=(9, 0.9 + 0.4 * len(rates) + 0.6 * len(groups)), layout="constrained")
    panels = figure.subplots(
        len(groups), 1, height_ratios=[len(names) for names, _ in groups], squeeze=False
    )
    for axes, (names, percent) in zip(panels[:, 0], groups):
        values = [rates[name] / ceiling * (100 if percent else 1) for name in names]
        past = [percent and value > 100 * CEILING_NOISE for value in values]
        bars = axes.barh(
            range(len(names)),
            values,
            color=[
                "tab:red" if above else "tab:blue" if percent else "tab:green" for above in past
            ],
        )
        axes.bar_label(
            bars,
            [
                (f"{value:.0f} % of the ceiling" if percent else f"{value:,.1f}× the ceiling")
                + f" ({rates[name]:,.0f} images/s)"
                + (", past it: timing noise" if above else "")
                for name, value, above in zip(names, values, past)
            ],
            padding=3,
            fontsize=8,
        )
        axes.axvline(100 if percent else 1, color="black", linestyle="--", linewidth=1)
        axes.set_yticks(range(len(names)), names, fontsize=8)
        axes.set_ylim(len(names) - 0.5, -0.5)
        # room for labels
        axes.set_xlim(0, (1.9 if any(past) else 1.6) * max(100 if percent else 1, *values))
        axes.set_xlabel(
            "% of the full-decode ceiling (decodes every image in full)"
            if percent
            else "multiple of the full-decode ceiling (decodes less or nothing)"
        )
    figure.suptitle(
        f"input only; full-decode ceiling (dashed lines): {ceiling:,.0f} images/s", fontsize=10
    )
    return figure
