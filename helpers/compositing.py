"""Material for compositing: foreground cut-outs with alpha, and backgrounds without shapes.

Foregrounds are RGBA PNGs of the embedded dataset's shapes: the shape opaque, the rest
fully transparent, and soft, anti-aliased edges in between (drawn four times larger, then
shrunk), as a matting tool or a photo editor exports a cut-out. Backgrounds are the embedded
dataset's textured JPEGs without their shapes (same sizes, same JPEG qualities), so the only
shape in a composite is the one its mask marks. Both are seeded per file: the same seed gives
the same files. ``random_square_crop`` is the background crop notebook 05 composites onto.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from helpers.embedded import CLASSES, draw_shape, texture

SUPERSAMPLING = 4  # drawn this many times larger, then shrunk: soft edges in the alpha channel


def make_material(
    folder: Path | str, foregrounds: int, backgrounds: int, size: int
) -> tuple[list[str], list[str]]:
    """Empty ``folder``, then write foreground cut-outs of ``size`` pixels and backgrounds into it.

    Returns the paths of the foregrounds (``folder/foregrounds``) and of the backgrounds
    (``folder/backgrounds/textures``: one class folder, as the full-decode ceiling reads it), as strings.
    """
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)  # every run starts from the same files
    return (
        [str(path) for path in make_foregrounds(folder / "foregrounds", foregrounds, size)],
        [str(path) for path in make_backgrounds(folder / "backgrounds" / "textures", backgrounds)],
    )


def alpha_shares(path: Path | str) -> dict[str, float]:
    """Shares of a cut-out's pixels that are opaque, transparent, and in between (its soft edge), rounded."""
    with Image.open(path) as image:
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
    shares = {
        "opaque": np.mean(alpha == 255),
        "transparent": np.mean(alpha == 0),
        "soft edge": np.mean((alpha > 0) & (alpha < 255)),
    }
    return {kind: round(float(share), 3) for kind, share in shares.items()}


def make_foregrounds(target: Path | str, count: int, size: int, seed: int = 0) -> list[Path]:
    """Write ``count`` square RGBA PNGs of ``size`` pixels into ``target``, the shapes in turn; return their paths."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        name = CLASSES[index % len(CLASSES)]
        path = target / f"{name}_{index:03d}.png"
        cut_out(name, size, np.random.default_rng([seed, index])).save(path)
        paths.append(path)
    return paths


def cut_out(name: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One shape on a transparent square of ``size`` pixels, its bounding box centred and touching two sides."""
    side = size * SUPERSAMPLING
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw_shape(ImageDraw.Draw(canvas), rng, name, side, side)
    left, top, right, bottom = canvas.getbbox()  # of the pixels that are not fully transparent
    half = max(right - left, bottom - top) / 2
    cx, cy = (left + right) / 2, (top + bottom) / 2
    square = canvas.crop(tuple(round(v) for v in (cx - half, cy - half, cx + half, cy + half)))
    # Pillow shrinks RGBA with premultiplied alpha, so the soft edges keep the shape's colour.
    return square.resize((size, size), Image.LANCZOS)


def make_backgrounds(target: Path | str, count: int, seed: int = 0) -> list[Path]:
    """Write ``count`` textured JPEGs (sides of 300-700 px, quality 85-92) into ``target``; return their paths."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        # not the seeds of the embedded dataset's images
        rng = np.random.default_rng([seed, len(CLASSES), index])
        width, height = (int(v) for v in rng.integers(300, 701, size=2))
        path = target / f"background_{index:03d}.jpg"
        Image.fromarray(texture(rng, height, width)).save(
            path, "JPEG", quality=int(rng.integers(85, 93))
        )
        paths.append(path)
    return paths


def random_square_crop(
    image: tf.Tensor, size: int, crop_seed: tf.Tensor, side_seed: tf.Tensor
) -> tf.Tensor:
    """A random square crop of ``image``, half to all of its short side, resized to ``size``: float32 in [0, 255].

    Stateless: the same seeds give the same crop, on any thread.
    """
    short_side = tf.cast(tf.reduce_min(tf.shape(image)[:2]), tf.float32)
    side = tf.cast(short_side * tf.random.stateless_uniform([], side_seed, 0.5, 1.0), tf.int32)
    crop = tf.image.stateless_random_crop(image, [side, side, 3], crop_seed)
    return tf.image.resize(crop, (size, size))
