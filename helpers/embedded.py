"""The embedded default dataset: photo-like JPEGs generated locally, no download.

Each class is a shape drawn in its own range of hues onto a textured background.
Images have the cost profile of photos (sides of 300-700 px, JPEG quality 85-92,
tens of KB each) so pipelines spend their time as they would on real data, and the
classes are easy enough that a small CNN learns them within two epochs. The ``photos``
variant draws the same classes at a phone camera's size (sides of 3,024-4,032 px, 9-16
megapixels, a few MB each): photos much larger than the model, for decoding at a ratio.
Generation is seeded per file: the same seed gives the same bytes, and a manifest of
checksums lets a second call reuse what exists and regenerate what is missing or altered.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from helpers.config import settings

GENERATOR_VERSION = 1
CLASSES = ("disc", "square", "triangle", "star", "cross")
# Hue band (degrees) of each class's shape; backgrounds take any hue.
CLASS_HUES = {"disc": 0, "square": 60, "triangle": 130, "star": 210, "cross": 280}
IMAGES_PER_CLASS = {"quick": 120, "bench": 800, "photos": 16}
SIDES = {"quick": (300, 700), "bench": (300, 700), "photos": (3024, 4032)}  # pixels, least and most
# A phone's demosaicing and noise reduction leave no grain at the sensor's own scale: photos are
# drawn at a third of their size and enlarged, which also gives a phone's bytes per pixel.
ENLARGED = {"photos": 3}


def embedded_dir(size: str) -> Path:
    """Folder of the embedded dataset of this size ("quick", "bench" or "photos")."""
    return settings().data_dir / f"embedded-{size}"


def generate_embedded(size: str = "quick", seed: int = 0, progress: bool = True) -> Path:
    """Create (or complete) the embedded dataset and return its folder.

    Files whose checksum matches the manifest are kept; missing or altered ones are
    drawn again from their own seed, so the result is the same bytes either way.
    """
    if size not in IMAGES_PER_CLASS:
        raise ValueError(f"embedded size {size!r}: choose one of {', '.join(IMAGES_PER_CLASS)}")
    root = embedded_dir(size)
    manifest_path = root / "manifest.json"
    params = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "classes": list(CLASSES),
        "images_per_class": IMAGES_PER_CLASS[size],
        "sides": list(SIDES[size]),
        "enlarged": ENLARGED.get(size, 1),
    }
    manifest = _read_manifest(manifest_path)
    known = manifest.get("files", {}) if manifest.get("params") == params else {}
    wanted = [(c, i) for c in range(len(CLASSES)) for i in range(IMAGES_PER_CLASS[size])]
    files = {_relpath(c, i): known.get(_relpath(c, i)) for c, i in wanted}
    stale = [(c, i) for c, i in wanted if not _intact(root / _relpath(c, i), files[_relpath(c, i)])]
    for c, i in tqdm(stale, desc=f"embedded-{size}", unit="img", disable=not progress or not stale):
        rendered = render_image(seed, c, i, SIDES[size], ENLARGED.get(size, 1))
        files[_relpath(c, i)] = _write_image(root / _relpath(c, i), rendered)
    if stale or not manifest_path.exists() or known != files:
        root.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(
            json.dumps({"params": params, "files": files}, indent=0, sort_keys=True)
        )
    return root


def render_image(
    seed: int,
    class_index: int,
    image_index: int,
    sides: tuple[int, int] = SIDES["quick"],
    enlarged: int = 1,
) -> tuple[Image.Image, int]:
    """Draw one image and pick its JPEG quality, from its own seed only.

    Its sides lie within ``sides``; it is drawn at 1/``enlarged`` of them, then enlarged.
    """
    rng = np.random.default_rng([seed, class_index, image_index])
    width, height = (int(v) for v in rng.integers(sides[0], sides[1] + 1, size=2))
    drawn = (width // enlarged, height // enlarged)
    image = Image.fromarray(texture(rng, drawn[1], drawn[0]))
    draw_shape(ImageDraw.Draw(image), rng, CLASSES[class_index], *drawn)
    return image.resize((width, height), Image.BICUBIC), int(rng.integers(85, 93))


def texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Multi-scale value noise between two random colours, with film-like grain."""
    field = np.zeros((height, width), np.float32)
    for cells, weight in ((4, 0.5), (16, 0.3), (64, 0.15)):
        coarse = rng.random((cells, cells), dtype=np.float32)
        field += weight * np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC))
    field += 0.06 * rng.standard_normal((height, width), dtype=np.float32)
    low, high = (
        _hsv_to_rgb(rng.random(), rng.uniform(0.2, 0.6), 0.35),
        _hsv_to_rgb(rng.random(), 0.3, 0.9),
    )
    mix = np.clip(field, 0, 1)[..., None]
    return np.clip(low + mix * (high - low), 0, 255).astype(np.uint8)


def draw_shape(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, name: str, width: int, height: int
) -> None:
    """Draw the class ``name``'s shape at a random place, size, angle and hue of its band."""
    radius = rng.uniform(0.18, 0.32) * min(width, height)
    cx = rng.uniform(radius, width - radius)
    cy = rng.uniform(radius, height - radius)
    hue = (CLASS_HUES[name] + rng.uniform(-20, 20)) / 360 % 1
    fill = tuple(int(v) for v in _hsv_to_rgb(hue, rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0)))
    outline = tuple(v // 3 for v in fill)
    angle = rng.uniform(0, 2 * math.pi)
    if name == "disc":
        draw.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius),
            fill=fill,
            outline=outline,
            width=4,
        )
        return
    cos, sin = math.cos(angle), math.sin(angle)
    points = [
        (cx + radius * (x * cos - y * sin), cy + radius * (x * sin + y * cos))
        for x, y in _OUTLINES[name]
    ]
    draw.polygon(points, fill=fill, outline=outline, width=4)


def _polygon(radii: tuple[float, ...]) -> tuple[tuple[float, float], ...]:
    """Unit outline whose corners sit at the given radii, evenly spaced in angle."""
    n = len(radii)
    return tuple(
        (r * math.cos(2 * math.pi * k / n), r * math.sin(2 * math.pi * k / n))
        for k, r in enumerate(radii)
    )


_W = 0.3  # half-width of the cross's arms
_OUTLINES = {
    "square": _polygon((1,) * 4),
    "triangle": _polygon((1,) * 3),
    "star": _polygon((1, 0.45) * 5),
    "cross": (
        (1, -_W),
        (1, _W),
        (_W, _W),
        (_W, 1),
        (-_W, 1),
        (-_W, _W),
        (-1, _W),
        (-1, -_W),
        (-_W, -_W),
        (-_W, -1),
        (_W, -1),
        (_W, -_W),
    ),
}


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, np.float32) * 255


def _relpath(class_index: int, image_index: int) -> str:
    name = CLASSES[class_index]
    return f"{name}/{name}_{image_index:04d}.jpg"


def _write_image(path: Path, rendered: tuple[Image.Image, int]) -> str:
    image, quality = rendered
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    image.save(partial, "JPEG", quality=quality)
    partial.replace(path)
    return _sha256(path)


def _intact(path: Path, digest: str | None) -> bool:
    return digest is not None and path.is_file() and _sha256(path) == digest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
