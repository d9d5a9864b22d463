"""What a folder of images really holds, found without changing it.

``scan_folder`` opens every file the way a pipeline would: the header with Pillow
(format, size, colour mode) and a full decode with ``tf.io.decode_image``, the
decoder the course's pipelines use. Files that will not decode are listed with the
reason; files a pipeline never looks at (``.DS_Store``, ``Thumbs.db``, notes) are
listed as ignored; everything else is good and usable.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from helpers.config import display_path, settings
from helpers.datasets import IMAGE_EXTENSIONS, class_names

# Pillow's name for a format, and the extensions that honestly carry it.
_EXTENSIONS_OF = {"JPEG": {".jpg", ".jpeg"}, "PNG": {".png"}, "GIF": {".gif"}, "BMP": {".bmp"}}
# What every notebook needs to train and validate. A fifth of each class validates in notebook 01
# (ImageDataGenerator's validation_split): five images give it one. Notebook 05 pairs images of two
# different classes; notebook 09 fills one validation batch on eight devices from a fifth of the
# folder, which takes forty images.
MIN_IMAGES_PER_CLASS, MIN_CLASSES, MIN_IMAGES = 5, 2, 40
_MODE_NOTES = {
    "CMYK": "CMYK",
    "L": "grayscale",
    "LA": "grayscale",
    "RGBA": "alpha channel",
    "P": "palette",
    "I;16": "16-bit",
}


@dataclass(frozen=True)
class ImageFile:
    """One file in a class folder and what decoding it showed."""

    path: Path
    label: str
    size_bytes: int
    format: str | None = None  # as Pillow names it, None if unrecognised
    width: int = 0
    height: int = 0
    notes: tuple[str, ...] = ()  # harmless surprises: "PNG named .jpg", "CMYK", ...
    problem: str | None = None  # why it will not decode; None for a good image


@dataclass
class ScanReport:
    """A folder's good images, the files that will not decode, and the files no pipeline reads."""

    root: Path
    classes: list[str]
    good: list[ImageFile] = field(default_factory=list)
    bad: list[ImageFile] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)

    def per_class(self) -> dict[str, int]:
        """Good images per class, every class listed (an empty one shows 0)."""
        counts = Counter(f.label for f in self.good)
        return {name: counts[name] for name in self.classes}

    def skipped(self) -> Counter:
        """How many bad files there are for each reason."""
        return Counter(_reason_kind(f.problem) for f in self.bad)

    def good_files(self) -> tuple[list[str], list[int]]:
        """Paths and integer labels (index in ``classes``) of the good images, for a pipeline."""
        index = {name: i for i, name in enumerate(self.classes)}
        return [str(f.path) for f in self.good], [index[f.label] for f in self.good]

    def require_trainable(self) -> None:
        """Raise ``UnusableFolder``, naming the class or the folder and what to change, unless every
        notebook can train and validate on the good images (``MIN_IMAGES_PER_CLASS``, ``MIN_CLASSES``,
        ``MIN_IMAGES``). An empty class folder is harmless: no image carries its label.
        """
        counts = {name: count for name, count in self.per_class().items() if count}
        for name, count in counts.items():
            if count < MIN_IMAGES_PER_CLASS:
                bad = sum(f.label == name for f in self.bad)
                raise UnusableFolder(
                    f"{display_path(self.root / name)} holds {count} good image{'s' * (count > 1)}"
                    + (f" ({bad} more will not decode)" if bad else "")
                    + f": every class needs at least "
                    f"{MIN_IMAGES_PER_CLASS}, so that the fifth of it kept for validation holds one. Add "
                    "images to it, or move it out of the folder."
                )
        if len(counts) < MIN_CLASSES or len(self.good) < MIN_IMAGES:
            raise UnusableFolder(
                f"{display_path(self.root)} holds {len(self.good)} good images in {len(counts)} classes: the course "
                f"needs at least {MIN_IMAGES} in {MIN_CLASSES} classes (notebook 05 pairs two classes, and "
                "notebook 09 validates a batch on eight devices from a fifth of them). Add images or classes."
            )

    def usable_root(self) -> Path:
        """A folder a stock loader can read without meeting a file that will not decode.

        The scanned folder itself when it has none; otherwise a view of it under the data folder,
        ``usable/<name>``: the same class folders holding links to the good images only (copies
        where links cannot be made), and a line saying what was left out and why.
        """
        if not self.bad:
            return self.root
        view = settings().data_dir / "usable" / self.root.name
        shutil.rmtree(view, ignore_errors=True)
        for name in self.classes:
            (view / name).mkdir(parents=True)
        for image in self.good:
            link = (
                view
                / image.label
                / image.path.relative_to(self.root / image.label).as_posix().replace("/", "_")
            )
            try:
                link.symlink_to(image.path.resolve())
            except OSError:  # no symlinks here (Windows without the privilege): copy instead
                shutil.copyfile(image.path, link)
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(self.skipped().items()))
        print(
            f"{len(self.bad)} files will not decode ({skipped}): stock loaders read {display_path(view)}, "
            f"a view of the {len(self.good)} good images"
        )
        return view

    def __str__(self) -> str:
        lines = [
            f"{display_path(self.root)}: {len(self.good)} good images in {len(self.classes)} classes, "
            f"{len(self.bad)} will not decode, {len(self.ignored)} other files ignored"
        ]
        lines += [f"  {name:<20} {count:>6}" for name, count in self.per_class().items()]
        notes = Counter(note for f in self.good for note in f.notes)
        if notes:
            lines.append(
                "  decodes, but worth knowing: "
                + ", ".join(f"{n} {k}" for k, n in sorted(notes.items()))
            )
        lines += [
            f"  skipped {f.path.relative_to(self.root).as_posix()}: {f.problem}" for f in self.bad
        ]
        lines += [f"  ignored {p.relative_to(self.root).as_posix()}" for p in self.ignored]
        return "\n".join(lines)


class UnusableFolder(ValueError):
    """A folder the course cannot train on: the message names the class and what to change."""


def scan_folder(root: Path | str, progress: bool = True) -> ScanReport:
    """Inspect every file under each class folder of ``root``; nothing is changed.

    ``ScanReport.require_trainable`` then says whether the course can train on what it found.
    """
    root = Path(root)
    classes = class_names(root)
    report = ScanReport(root, classes)
    files = [
        (path, name)
        for name in classes
        for path in sorted((root / name).rglob("*"))
        if path.is_file()
    ]
    candidates = [(path, name) for path, name in files if path.suffix.lower() in IMAGE_EXTENSIONS]
    report.ignored = [path for path, name in files if path.suffix.lower() not in IMAGE_EXTENSIONS]
    with ThreadPoolExecutor() as pool:  # TensorFlow's decode releases the GIL
        checked = pool.map(lambda item: inspect_file(*item), candidates)
        for image in tqdm(
            checked, total=len(candidates), desc="scan", unit="file", disable=not progress
        ):
            (report.bad if image.problem else report.good).append(image)
    return report


def inspect_file(path: Path, label: str) -> ImageFile:
    """Header facts from Pillow and the verdict of a full TensorFlow decode."""
    import tensorflow as tf

    data = path.read_bytes()
    if not data:
        return ImageFile(path, label, 0, problem="empty file")
    header = _header(path)
    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError as error:
        kind = (
            f"corrupt or truncated {header['format']}" if header.get("format") else "not an image"
        )
        return ImageFile(
            path, label, len(data), problem=f"{kind}: {tf_error_message(error)}", **header
        )
    return ImageFile(path, label, len(data), **header)


def _header(path: Path) -> dict:
    try:
        with Image.open(path) as image:
            notes = []
            if path.suffix.lower() not in _EXTENSIONS_OF.get(image.format, {path.suffix.lower()}):
                notes.append(f"{image.format} named {path.suffix}")
            if image.mode in _MODE_NOTES:
                notes.append(_MODE_NOTES[image.mode])
            if getattr(image, "n_frames", 1) > 1:
                notes.append("animated (first frame used)")
            return {
                "format": image.format,
                "width": image.width,
                "height": image.height,
                "notes": tuple(notes),
            }
    except OSError:  # Pillow does not recognise it; the decode will say more
        return {}


def tf_error_message(error: Exception) -> str:
    """TensorFlow's own words in an error: without the function, op and device decoration."""
    text = re.sub(r"\{\{.*?\}\}\s*|\s*\[\[.*?\]\]", "", str(error), flags=re.S)
    return re.sub(r"\s*\[Op:.*$", "", text, flags=re.S).strip()


def _reason_kind(problem: str | None) -> str:
    return (problem or "").split(":")[0]
