"""Sentences the results notebook writes from the comparison's rows, each saying only what its figures show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# "Well above chance": at least this multiple of it, far past what a model guessing at chance scores.
ABOVE_CHANCE = 1.5


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
