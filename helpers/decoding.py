"""Decoding less: JPEGs decoded at a reduced size or only where a crop falls.

A JPEG's decoder can deliver the image at 1/2, 1/4 or 1/8 of its size for a fraction of the
work (libjpeg-turbo scales the inverse DCT), and can decode only a window of it. When photos
are larger than the model's input, most decoded pixels are thrown away by the resize; these
loaders do not decode them. The full decode (``pipelines.decode``) stays the course's yardstick,
the full-decode ceiling; pipelines that decode less are reported as multiples of it.

Files that are not JPEG (PNG, GIF, BMP, whatever a folder holds) are decoded in full.
``decode_cost`` counts, from the scan's sizes, what a folder's images cost to decode each way:
notebook 00 prints it.
"""

from __future__ import annotations

import io
import itertools
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image

from helpers.scan import ImageFile
from helpers.tables import format_table

RATIOS = (1, 2, 4, 8)  # the reductions libjpeg offers, as ``decode_jpeg``'s static ``ratio``
JPEG_FORMATS = {"JPEG", "MPO"}  # Pillow's names for a JPEG: phones save photos as MPO too


def reduced(side, ratio: int):
    """A side decoded at 1/``ratio``, rounded up as libjpeg does (a tensor or an array).

    Taught in notebook 08.
    """
    return -(-side // ratio)


def largest_ratio_index(shape: tf.Tensor, image_size: int) -> tf.Tensor:
    """Index into ``RATIOS`` of the largest reduction whose image still covers ``image_size`` on both sides.

    ``shape`` is a JPEG's (height, width, channels), as ``tf.io.extract_jpeg_shape`` reads it from
    the header. A reduction by r gives sides of ceil(side / r) pixels, as libjpeg rounds.
    Taught in notebook 08.
    """
    shorter = tf.reduce_min(shape[:2])
    covers = [reduced(shorter, ratio) >= image_size for ratio in RATIOS[1:]]
    return tf.add_n([tf.cast(cover, tf.int32) for cover in covers])


def covering_ratios(heights: Sequence[int], widths: Sequence[int], image_size: int) -> np.ndarray:
    """Per image, the ratio ``decode_at_ratio`` picks: ``largest_ratio_index`` in NumPy."""
    shorter = np.minimum(heights, widths)
    covers = [reduced(shorter, ratio) >= image_size for ratio in RATIOS[1:]]
    return np.array(RATIOS)[np.sum(covers, axis=0, dtype=int)]


def decode_at_ratio(contents: tf.Tensor, image_size: int) -> tf.Tensor:
    """A file's image as uint8 RGB, a JPEG decoded at the largest ratio that still covers ``image_size``.

    ``ratio`` is an attribute of the decode op, fixed when the graph is built, so the graph holds
    one decode per ratio and the header picks one per image. Taught in notebook 08.
    """

    def jpeg() -> tf.Tensor:
        index = largest_ratio_index(tf.io.extract_jpeg_shape(contents), image_size)
        decoders = [lambda r=ratio: tf.io.decode_jpeg(contents, 3, ratio=r) for ratio in RATIOS]
        return tf.switch_case(index, decoders)

    image = tf.cond(tf.io.is_jpeg(contents), jpeg, lambda: decode_any(contents))
    image.set_shape([None, None, 3])
    return image


def resize_at_ratio(contents: tf.Tensor, image_size: int) -> tf.Tensor:
    """Encoded image bytes decoded at a ratio, then resized: a float32 RGB square in [0, 255]."""
    return tf.image.resize(decode_at_ratio(contents, image_size), (image_size, image_size))


def load_at_ratio(
    path: tf.Tensor, label: tf.Tensor, image_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """One image at the model's size, decoded at a ratio, with its label: ``pipelines.load``, decoding less."""
    return resize_at_ratio(tf.io.read_file(path), image_size), label


def random_crop_window(
    shape: tf.Tensor,
    area: tuple[float, float] = (0.08, 1.0),
    aspect_ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tf.Tensor:
    """A random-resized crop's window (y, x, height, width), sampled from an image's shape alone.

    The area and aspect ratio ranges are the Inception-style crop of the reference ResNet and
    EfficientNet input pipelines; ``sample_distorted_bounding_box`` falls back to the whole image.
    """
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        shape,
        tf.zeros([0, 0, 4]),  # no boxes to cover: any window of the allowed area will do
        area_range=area,
        aspect_ratio_range=aspect_ratio,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    return tf.stack([begin[0], begin[1], size[0], size[1]])


def decode_random_crop(contents: tf.Tensor, image_size: int) -> tf.Tensor:
    """A random-resized crop at the model's size, float32 in [0, 255]: a JPEG decodes only its window.

    Other formats go through ``crop_after_decode``. Taught in notebook 08.
    """

    def jpeg() -> tf.Tensor:
        window = random_crop_window(tf.io.extract_jpeg_shape(contents))
        image = tf.io.decode_and_crop_jpeg(contents, window, channels=3)
        return tf.image.resize(image, (image_size, image_size))

    return tf.cond(tf.io.is_jpeg(contents), jpeg, lambda: crop_after_decode(contents, image_size))


def crop_after_decode(contents: tf.Tensor, image_size: int) -> tf.Tensor:
    """The same random-resized crop, cut from the whole decoded image: what decoding a window saves."""
    image = decode_any(contents)
    y, x, height, width = tf.unstack(random_crop_window(tf.shape(image)))
    image = tf.image.crop_to_bounding_box(image, y, x, height, width)
    return tf.image.resize(image, (image_size, image_size))


@dataclass(frozen=True)
class DecodeCost:
    """Decoded pixels of a folder's images, in full and at the ratio ``decode_at_ratio`` picks.

    ``table()`` counts them per ratio; ``str()`` is a sentence on what the resize to the model's
    input throws away and which of the course's remedies applies.
    """

    image_size: int
    ratios: np.ndarray  # per image; 1 for an image decoded in full (too small, or not a JPEG)
    full: np.ndarray  # decoded pixels per image, full decode
    at_ratio: np.ndarray  # decoded pixels per image, at its ratio

    def thrown_away(self, decoded: np.ndarray) -> float:
        """The share of ``decoded`` pixels the resize throws away: all but the model's per image."""
        return 1 - np.minimum(decoded, self.image_size**2).sum() / decoded.sum()

    def table(self) -> str:
        """Images and decoded megapixels per ratio, in full and at the ratio."""
        rows = [
            {
                "decoded at": f"1/{ratio}" if ratio > 1 else "full size",
                "images": int(count),
                "megapixels, full decode": self.full[self.ratios == ratio].sum() / 1e6,
                "megapixels at the ratio": self.at_ratio[self.ratios == ratio].sum() / 1e6,
            }
            for ratio, count in sorted(Counter(self.ratios.tolist()).items())
        ]
        return format_table(rows, formats=dict.fromkeys(list(rows[0])[2:], "{:,.1f}"))

    def __str__(self) -> str:
        side, full = self.image_size, self.full.sum()
        size, lost = f"{side}×{side} px", self.thrown_away(self.full)
        if not lost:
            return f"No image is larger than the model's {size}: decoding less saves nothing."
        text = f"Resizing to {size} throws away {lost:.1%} of the {full / 1e6:,.1f} megapixels "
        text += "a full decode gives. "
        scaled = int(np.sum(self.ratios > 1))
        if scaled:
            text += (
                f"Decoding at a ratio ({scaled} of {len(self.ratios)} images at 1/2, 1/4 or 1/8 "
                f"of their sides) decodes {self.at_ratio.sum() / full:.1%} of those pixels, and "
                f"the resize throws away {self.thrown_away(self.at_ratio):.1%} of these: notebook 08 "
                "teaches it and measures it against the full-decode ceiling. "
            )
        else:
            text += (
                f"No JPEG covers {side} px at half its sides: decoding at a ratio saves nothing. "
            )
        return text + (
            f"Pre-resizing into records (notebook 07) decodes in full once, then {size} images "
            "every epoch."
        )


def decode_cost(images: Sequence[ImageFile], image_size: int) -> DecodeCost:
    """What the scan's good ``images`` cost to decode for a model that sees ``image_size`` px."""
    heights = np.array([image.height for image in images], dtype=np.int64)
    widths = np.array([image.width for image in images], dtype=np.int64)
    jpeg = np.array([image.format in JPEG_FORMATS for image in images])
    ratios = np.where(jpeg, covering_ratios(heights, widths, image_size), 1)
    return DecodeCost(
        image_size,
        ratios,
        heights * widths,
        reduced(heights, ratios) * reduced(widths, ratios),
    )


def decode_any(contents: tf.Tensor) -> tf.Tensor:
    """Any format ``decode_image`` reads (JPEG, PNG, GIF's first frame, BMP) as uint8 RGB, in full.

    Taught in notebook 08."""
    return tf.io.decode_image(contents, channels=3, expand_animations=False)


def pillow_batches(
    contents: Sequence[bytes], image_size: int, batch_size: int, draft: bool = True
) -> Iterator[np.ndarray]:
    """Batches of in-memory images decoded and resized by Pillow in a thread per core, endlessly.

    With ``draft``, Pillow asks libjpeg for the smallest reduction that still covers the size
    (``Image.draft``): the peer of ``decode_at_ratio``. Pillow releases the GIL while it decodes.
    """

    def one(data: bytes) -> np.ndarray:
        image = Image.open(io.BytesIO(data))
        if draft:
            image.draft("RGB", (image_size, image_size))
        return np.asarray(image.convert("RGB").resize((image_size, image_size), Image.BILINEAR))

    images = itertools.cycle(contents)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        while True:
            yield np.stack(list(pool.map(one, itertools.islice(images, batch_size))))
