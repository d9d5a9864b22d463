"""Pictures of a dataset: sample images, images per class, image and file sizes."""
from __future__ import annotations

import random
from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from PIL import Image

from helpers.scan import ImageFile, ScanReport

MANY_CLASSES = 30  # past this, bars lose their labels and become a sorted profile


def sample_grid(images: Sequence[ImageFile], columns: int = 6, rows: int = 2, seed: int = 0) -> Figure:
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
        ax.bar(range(len(counts)), sorted(counts.values(), reverse=True), width=1.0, color="tab:blue")
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
