"""A messy class-per-folder dataset, as real folders are, that knows which files are good.

Built from a few images of a clean dataset plus truncated, empty and mislabelled files,
odd colour modes and formats, awkward names, and the litter operating systems leave.
Notebooks point their loaders at it to show what breaks; tests check nothing good is lost.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def make_messy_folder(source: Path, target: Path, per_class: int = 6) -> dict[str, set[str]]:
    """Copy ``per_class`` good JPEGs per class of ``source`` into ``target`` and add trouble.

    Returns ``{"good": ..., "bad": ..., "ignored": ...}``: paths relative to ``target``.
    """
    kinds: dict[str, set[str]] = {"good": set(), "bad": set(), "ignored": set()}
    noise = random.Random(0)  # seeded: the "random bytes" file is the same on every run

    def put(relpath: str, data: bytes, kind: str) -> None:
        path = target / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        kinds[kind].add(relpath)

    classes = sorted(p.name for p in source.iterdir() if p.is_dir())
    for name in classes:
        for path in sorted((source / name).glob("*.jpg"))[:per_class]:
            put(f"{name}/{path.name}", path.read_bytes(), "good")
    first, second = classes[0], classes[1]
    photo = Image.open(next((source / first).glob("*.jpg"))).convert("RGB")
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
    put(f"{second}/animation.gif", _encode(photo, "GIF", save_all=True, append_images=[photo.rotate(90)]), "good")
    put(f"{second}/UPPER CASE.JPG", jpeg, "good")
    put(f"{second}/café ñandú.jpeg", jpeg, "good")
    put(f"{second}/notes.txt", b"where these photos came from", "ignored")
    put(f"{second}/.DS_Store", b"\x00\x00\x00\x01Bud1", "ignored")
    put(f"{first}/Thumbs.db", noise.randbytes(512), "ignored")
    (target / "empty_class").mkdir(parents=True, exist_ok=True)
    return kinds

