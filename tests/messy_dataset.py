"""A small, unbalanced, messy class-per-folder dataset, as a learner's own folder often is.

Three classes of 40, 15 and 5 good JPEGs from the quick dataset, plus ``helpers.messy``'s broken
and odd files and an empty class, plus the extremes of size real folders hold (a panorama over
4,000 px, a thumbnail of a few pixels, a thin sliver). Small on purpose: an epoch is a batch or
two, so every trace, timing and lesson must repeat its data rather than run dry.
Everything it reports as good must reach every pipeline; nothing else may.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from helpers.messy import make_messy_folder

HUGE = (4800, 3200)  # pixels: over 4,000 on the long side
GOOD_JPEGS = (40, 15, 5)  # per class, before the trouble adds its good files to the first two


def make_messy_dataset(source: Path, target: Path) -> dict[str, set[str]]:
    """``GOOD_JPEGS`` of ``source``'s first classes plus ``helpers.messy``'s trouble and three extreme sizes.

    Returns what is good, bad and ignored, as paths relative to ``target``.
    """
    classes = sorted(p.name for p in source.iterdir() if p.is_dir())[: len(GOOD_JPEGS)]
    subset = target.parent / f"{target.name} (subset)"
    shutil.rmtree(subset, ignore_errors=True)
    for name, count in zip(classes, GOOD_JPEGS):
        (subset / name).mkdir(parents=True)
        for photo in sorted((source / name).glob("*.jpg"))[:count]:
            shutil.copyfile(photo, subset / name / photo.name)
    kinds = make_messy_folder(subset, target, per_class=max(GOOD_JPEGS))
    shutil.rmtree(subset)
    first, second = classes[:2]
    photo = Image.open(next((source / first).glob("*.jpg"))).convert("RGB")
    for relpath, size in (
        (f"{first}/panorama huge.jpg", HUGE),
        (f"{second}/thumbnail.jpg", (3, 3)),
        (f"{second}/sliver.jpg", (2000, 6)),
    ):
        photo.resize(size).save(target / relpath, "JPEG", quality=90)
        kinds["good"].add(relpath)
    return kinds


def write_huge_images(target: Path, count: int, source: Path) -> list[Path]:
    """``count`` JPEGs of ``HUGE`` pixels in one class folder of ``target``, each a different photo scaled up."""
    folder = target / "huge"
    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted(source.rglob("*.jpg"))
    paths = [folder / f"huge_{i:02d}.jpg" for i in range(count)]
    for path, photo in zip(paths, photos):
        Image.open(photo).convert("RGB").resize(HUGE).save(path, "JPEG", quality=90)
    return paths
