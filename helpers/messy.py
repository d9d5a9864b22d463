"""A messy class-per-folder dataset, as real folders are, that knows which files are good.

Built from a few images of a clean dataset plus truncated, empty and mislabelled files,
odd colour modes and formats, awkward names, and the litter operating systems leave.
Notebook 04 points every loader of the course at it and counts, with ``one_epoch``, what
each delivers and what stops it; tests check nothing good is lost.
"""

from __future__ import annotations

import io
import random
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from helpers.tables import format_table


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def make_messy_folder(source: Path, target: Path, per_class: int = 6) -> dict[str, set[str]]:
    """Copy ``per_class`` good JPEGs per class of ``source`` into an emptied ``target`` and add trouble.

    ``source`` is read before ``target`` is cleared, so it may be (a view of) an earlier messy
    folder at ``target``. Returns ``{"good": ..., "bad": ..., "ignored": ...}``: paths relative
    to ``target``.
    """
    kinds: dict[str, set[str]] = {"good": set(), "bad": set(), "ignored": set()}
    noise = random.Random(0)  # seeded: the "random bytes" file is the same on every run

    def put(relpath: str, data: bytes, kind: str) -> None:
        path = target / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        kinds[kind].add(relpath)

    source, target = Path(source), Path(target)
    copies = {
        f"{name}/{path.name}": path.read_bytes()
        for name in sorted(p.name for p in source.iterdir() if p.is_dir())
        for path in sorted((source / name).glob("*.jpg"))[:per_class]
    }
    shutil.rmtree(target, ignore_errors=True)
    for relpath, data in copies.items():
        put(relpath, data, "good")
    first, second = sorted({relpath.split("/")[0] for relpath in copies})[:2]  # classes with a JPEG
    photo = Image.open(io.BytesIO(copies[min(copies)])).convert("RGB")
    jpeg = _encode(photo, "JPEG", quality=90)
    put(f"{first}/truncated.jpg", jpeg[: len(jpeg) // 3], "bad")
    put(f"{first}/empty.jpg", b"", "bad")
    put(f"{first}/random bytes.jpg", noise.randbytes(3000), "bad")
    put(f"{first}/png named.jpg", _encode(photo, "PNG"), "good")
    put(f"{first}/cmyk.jpg", _encode(photo.convert("CMYK"), "JPEG"), "good")
    put(f"{first}/grayscale.jpg", _encode(photo.convert("L"), "JPEG"), "good")
    put(f"{second}/progressive.jpg", _encode(photo, "JPEG", progressive=True), "good")
    put(f"{second}/rgba.png", _encode(photo.convert("RGBA"), "PNG"), "good")
    put(f"{second}/bitmap.bmp", _encode(photo, "BMP"), "good")
    put(
        f"{second}/animation.gif",
        _encode(photo, "GIF", save_all=True, append_images=[photo.rotate(90)]),
        "good",
    )
    put(f"{second}/UPPER CASE.JPG", jpeg, "good")
    put(f"{second}/café ñandú.jpeg", jpeg, "good")
    put(f"{second}/notes.txt", b"where these photos came from", "ignored")
    put(f"{second}/.DS_Store", b"\x00\x00\x00\x01Bud1", "ignored")
    put(f"{first}/Thumbs.db", noise.randbytes(512), "ignored")
    (target / "empty_class").mkdir(parents=True, exist_ok=True)
    return kinds


@dataclass(frozen=True)
class Delivered:
    """What one pass over a loader delivered: how many images, and the error that stopped it, if any."""

    images: int
    error: str | None = None  # "<exception type>: <message>"; None: the pass reached its end

    def __str__(self) -> str:
        return (
            f"crashed after {self.images} images, {self.error}"
            if self.error
            else f"{self.images} images"
        )

    def of(self, good: int) -> str:
        """Short, for a table: 'crashed (<exception type>)', or '<images> of <good>'."""
        return f"crashed ({self.error.split(':')[0]})" if self.error else f"{self.images} of {good}"

    def lost(self, good: int) -> int | None:
        """Good images a finished pass left out; None after a crash (the run stops there)."""
        return None if self.error else good - self.images


def one_epoch(loader: Iterable) -> Delivered:
    """Count the images of one pass over ``loader``, as ``fit()`` would take them; stop at the first error.

    ``loader`` yields batches or single images, alone or with labels or paths: a ``tf.data.Dataset``,
    or a Keras ``PyDataset`` such as ``flow_from_directory``'s iterator (read by index to its length).
    """
    batches = loader
    # a PyDataset: it would cycle forever
    if hasattr(loader, "__getitem__") and hasattr(loader, "__len__"):
        batches = (loader[index] for index in range(len(loader)))
    images = 0
    try:
        for element in batches:
            parts = element if isinstance(element, tuple) else (element,)
            image = next((part for part in parts if len(part.shape) >= 3), parts[0])
            images += image.shape[0] if len(image.shape) == 4 else 1  # a batch, or one image
    except Exception as error:  # whatever a loader raises on a bad file: that is what is counted
        return Delivered(images, f"{type(error).__name__}: {error_message(error)}")
    return Delivered(images)


def error_message(error: Exception) -> str:
    """An error's own words: without TensorFlow's op decoration or the address of an in-memory file."""
    from helpers.scan import tf_error_message

    text = tf_error_message(error)
    text = re.sub(
        r"^Error in user-defined function passed to \S+ transformation with iterator: [\w:]+: ",
        "",
        text,
    )
    return re.sub(r" <[^>]* at 0x[0-9a-f]+>", "", text)


@dataclass(frozen=True)
class SideBySide:
    """Each loader's epoch without the scan and with it: a table that shows itself (Markdown in a notebook)."""

    without: Mapping[str, Delivered]
    with_scan: Mapping[str, Delivered]
    good: int  # good images in the folder
    taught_in: Mapping[str, str] = field(default_factory=dict)  # loader -> notebook number

    HEADERS = {
        "loader": "loader",
        "taught_in": "notebook",
        "without": "without the scan",
        "lost_without": "good images lost",
        "with_scan": "with the scan",
        "lost_with": "good images lost",
    }

    def rows(self) -> list[dict]:
        rows = []
        for name, delivered in self.without.items():
            scanned = self.with_scan.get(name)
            rows.append(
                {
                    "loader": name,
                    "taught_in": self.taught_in.get(name, ""),
                    "without": delivered.of(self.good),
                    "lost_without": delivered.lost(self.good),
                    "with_scan": scanned and scanned.of(self.good),
                    "lost_with": scanned and scanned.lost(self.good),
                }
            )
        return rows

    def __str__(self) -> str:
        return format_table(self.rows(), self.HEADERS)

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return format_table(self.rows(), self.HEADERS, markdown=True)
