"""Sentences the results notebook writes from the comparison's rows, each saying only what its figures show.

Rows of different pipelines do different work, so no sentence ranks one against another: each
states a pipeline's figure beside the measurement made for that same pipeline (its own full-decode
ceiling, the wait its own images/s predicts, its own trace on the CPU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from helpers.comparison import ceiling_multiple, context_differences, decode_ceilings, decodes
from helpers.results import CEILING_NOISE

# "Well above chance": at least this multiple of it, far past what a model guessing at chance scores.
ABOVE_CHANCE = 1.5
# Ceilings measured within this ratio of each other: the machine ran alike through the notebooks.
STEADY = 1.25
# A traced wait within this many points of the one its pipeline's images/s predicts agrees with it.
AGREES = 10


def _named(row: Mapping) -> str:
    return f"{row['notebook'][:2]} {row['pipeline']}"


def ceiling_check(rows: Sequence[Mapping]) -> str | None:
    """Each pipeline against the full-decode ceiling timed beside it, and how far the ceilings spread.

    A pipeline that decodes every image is given in percent of its ceiling, flagged past
    ``CEILING_NOISE``; one that decodes less (``comparison.decodes``) as a multiple: it does other
    work than the ceiling. None when no row has both figures.
    """
    measured = [row for row in rows if ceiling_multiple(row)]
    if not measured:
        return None
    ceilings = decode_ceilings(measured)
    low, high = min(ceilings), max(ceilings)
    return (
        "**Against its own full-decode ceiling**, timed in the same rounds: "
        + "; ".join(map(_against_ceiling, measured))
        + f". The ceilings measured {low:,.0f} to {high:,.0f} images/s ({high / low:.1f}× apart): "
        + ("the machine was steady." if high / low < STEADY else "trust only large differences.")
    )


def _against_ceiling(row: Mapping) -> str:
    multiple = ceiling_multiple(row)
    if not decodes(row):
        return f"{_named(row)} {multiple:.1f}× (decodes less)"
    past = " (past it: its notebook must explain)" if multiple > CEILING_NOISE else ""
    return f"{_named(row)} {100 * multiple:.0f} %{past}"


def accelerator_waits(rows: Sequence[Mapping]) -> str | None:
    """Each pipeline's traced wait at an A100's demand beside the wait its own images/s predicts.

    The stand-in's step takes a fixed time, so its wait follows from the pipeline's rate; a trace
    more than ``AGREES`` points from that prediction saw other work than the timing, or another
    moment of the machine. None when no row traced the stand-in.
    """
    traced = [row for row in rows if row.get("waiting_accelerator_percent") is not None]
    if not traced:
        return None
    predicted = [
        row for row in traced if row.get("predicted_waiting_accelerator_percent") is not None
    ]
    parted = [
        _named(row)
        for row in predicted
        if abs(row["waiting_accelerator_percent"] - row["predicted_waiting_accelerator_percent"])
        > AGREES
    ]
    waits = [
        f"{_named(row)} {row['waiting_accelerator_percent']:.0f} %"
        + (
            f" ({row['predicted_waiting_accelerator_percent']:.0f} % predicted)"
            if row in predicted
            else ""
        )
        for row in traced
    ]
    return (
        "**At an A100's demand** (the stand-in) each pipeline waited, of each step: "
        + "; ".join(waits)
        + f". The trace agrees with the wait its own input-only images/s predicts within {AGREES} "
        f"points in {len(predicted) - len(parted)} of {len(predicted)} pipelines"
        + (
            f"; in {', '.join(parted)} they part: the trace and the timing saw different work "
            "(augmentation, the step's own host work) or a different moment of a shared machine"
            if parted
            else ""
        )
        + "."
    )


def cpu_waits(rows: Sequence[Mapping]) -> str | None:
    """Whether each pipeline's course model, training on the CPU, waited less than its stand-in did.

    Both traces read the same pipeline, so each pair compares like with like. None when no row
    has both.
    """
    both = [
        row
        for row in rows
        if row.get("waiting_percent") is not None
        and row.get("waiting_accelerator_percent") is not None
    ]
    if not both:
        return None
    more = [
        _named(row) for row in both if row["waiting_percent"] >= row["waiting_accelerator_percent"]
    ]
    return (
        f"**On the CPU** the course model's steps waited less than the stand-in's on the same "
        f"pipeline in {len(both) - len(more)} of {len(both)} pipelines traced both ways"
        + (f" (not in {', '.join(more)})" if more else "")
        + ": a step computed on the pipeline's own cores is slower, which hides the input."
    )


def label_check(rows: Sequence[Mapping], classes: int) -> str | None:
    """What the rows' validation accuracies show: whether each pipeline's labels arrive with their images.

    A model fed labels that do not match its images stays at chance, one over ``classes``; one well
    above it (``ABOVE_CHANCE`` times) was fed matching labels. The rows train for different epochs, in
    different precisions and with different augmentation, so the sentence ranks none of them. None
    when no row has an accuracy.
    """
    scored = sorted(
        (row["val_accuracy"], row["notebook"][:2])
        for row in rows
        if row.get("val_accuracy") is not None
    )
    if not scored:
        return None
    chance = 1 / classes
    low = [
        f"{number} ({accuracy:.2f})"
        for accuracy, number in scored
        if accuracy < ABOVE_CHANCE * chance
    ]
    verdict = (
        f"below {ABOVE_CHANCE:g}× chance: {', '.join(low)}; check that those labels match their images"
        if low
        else f"every row at {ABOVE_CHANCE:g}× chance or more, so every pipeline's labels arrive with "
        "their images"
    )
    return (
        f"**Validation accuracy** ran from {scored[0][0]:.2f} ({scored[0][1]}) to {scored[-1][0]:.2f} "
        f"({scored[-1][1]}) against a chance of {chance:.2f} ({classes} classes): {verdict}. The rows "
        "differ in epochs, precision and augmentation, so their accuracies do not rank the pipelines."
    )


def not_compared(rows: Sequence[Mapping], missing: Sequence[str]) -> str | None:
    """What keeps rows from comparing: context they differ in, notebooks without results, no trace."""
    gaps = [*context_differences(rows), *(f"{name} has no results" for name in missing)]
    if rows and not any(row.get("waiting_accelerator_percent") is not None for row in rows):
        gaps.append("no pipeline has recorded the accelerator stand-in's wait")
    return "**Not compared yet, or not alike:** " + "; ".join(gaps) + "." if gaps else None


def takeaways(rows: Sequence[Mapping], classes: int, missing: Sequence[str] = ()) -> str:
    """The results notebook's takeaways as a Markdown list, or what to run before there are any."""
    if len(rows) < 2:
        return "Fewer than two pipelines have results: run the notebooks named above, then this one again."
    lines = [
        ceiling_check(rows),
        accelerator_waits(rows),
        cpu_waits(rows),
        label_check(rows, classes),
        not_compared(rows, missing),
    ]
    return "\n".join(f"- {line}" for line in lines if line)
