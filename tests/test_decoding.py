"""Decoding less: the ratio covers the model's input, other formats decode in full, crops stay inside."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import decoding
from helpers.scan import ImageFile


def _encoded(fmt: str, size: tuple[int, int] = (500, 375), mode: str = "RGB") -> tf.Tensor:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    data = io.BytesIO()
    image.save(data, fmt)
    return tf.constant(data.getvalue())


@pytest.mark.parametrize(
    "height, width, image_size, ratio",
    [
        (3024, 4032, 224, 8),  # a phone photo: 378 x 504 still covers 224
        (375, 500, 128, 2),  # ImageNet-sized: a quarter would give 94 rows
        (100, 130, 128, 1),  # smaller than the model: decoded in full
        (1017, 2000, 128, 8),  # libjpeg rounds up: 1017 / 8 gives 128 rows
        (1016, 2000, 128, 4),  # ... and 1016 / 8 gives 127
    ],
)
def test_the_largest_ratio_still_covers_the_model_input(height, width, image_size, ratio):
    index = decoding.largest_ratio_index(tf.constant([height, width, 3]), image_size)
    assert decoding.RATIOS[int(index)] == ratio
    assert decoding.covering_ratios([height], [width], image_size).tolist() == [ratio]


def test_a_jpeg_decodes_at_its_ratio_as_libjpeg_would():
    contents = _encoded("JPEG", (1000, 600))
    image = decoding.decode_at_ratio(contents, 128)
    assert image.shape == (150, 250, 3)  # ratio 4: an eighth would give 75 rows
    np.testing.assert_array_equal(image, tf.io.decode_jpeg(contents, 3, ratio=4))


@pytest.mark.parametrize("fmt, mode", [("PNG", "RGB"), ("GIF", "P"), ("BMP", "RGB")])
def test_other_formats_decode_in_full(fmt, mode):
    image = decoding.decode_at_ratio(_encoded(fmt, mode=mode), 64)
    assert image.shape == (375, 500, 3)


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_odd_jpegs_come_out_rgb(mode):
    assert decoding.decode_at_ratio(_encoded("JPEG", mode=mode), 64).shape == (94, 125, 3)


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("kept", [0.3, 0.9, -2])  # shares of the file, or all but the end marker
def test_a_truncated_jpeg_fails_as_it_fails_the_scan(progressive, kept):
    """The scan decodes with decode_image: what it counts good must decode at a ratio too."""
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), np.uint8))
    data = io.BytesIO()
    image.save(data, "JPEG", progressive=progressive)
    data = data.getvalue()
    truncated = tf.constant(data[: int(len(data) * kept)] if kept > 0 else data[:kept])
    outcomes = []
    for decode in (lambda c: tf.io.decode_image(c, 3), lambda c: decoding.decode_at_ratio(c, 64)):
        try:
            outcomes.append(decode(truncated).shape[-1])
        except tf.errors.InvalidArgumentError:
            outcomes.append("fails")
    assert outcomes[0] == outcomes[1]


def test_loading_in_a_pipeline_gives_the_model_size(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(_encoded("JPEG", (800, 600)).numpy())
    data = tf.data.Dataset.from_tensors((str(path), 3)).map(
        lambda p, label: decoding.load_at_ratio(p, label, 96)
    )
    image, label = next(iter(data))
    assert image.shape == (96, 96, 3) and image.dtype == tf.float32 and int(label) == 3


def test_a_crop_window_lies_inside_the_image_and_keeps_its_area_range():
    tf.random.set_seed(0)
    shape = tf.constant([375, 500, 3])
    for _ in range(50):
        y, x, height, width = (int(v) for v in decoding.random_crop_window(shape))
        assert 0 <= y and y + height <= 375 and 0 <= x and x + width <= 500
        assert 0.08 * 375 * 500 * 0.9 <= height * width <= 375 * 500


@pytest.mark.parametrize(
    "fmt, crop",
    [
        ("JPEG", decoding.decode_random_crop),
        ("PNG", decoding.decode_random_crop),
        ("JPEG", decoding.crop_after_decode),
    ],
)
def test_random_resized_crops_come_out_at_the_model_size(fmt, crop):
    image = crop(_encoded(fmt), 64)
    assert image.shape == (64, 64, 3) and image.dtype == tf.float32


def test_decoding_a_window_gives_the_pixels_of_the_whole_decode():
    contents = _encoded("JPEG", (320, 240))
    cropped = tf.io.decode_and_crop_jpeg(contents, [16, 32, 128, 160], channels=3).numpy()
    whole = tf.io.decode_jpeg(contents, 3).numpy()[16 : 16 + 128, 32 : 32 + 160]
    difference = np.abs(cropped.astype(int) - whole)
    # chroma upsampling sees other neighbours along the window's edge, nowhere else
    assert difference[8:-8, 8:-8].max() <= 1 and difference.mean() < 0.5


def test_pillow_draft_batches_have_the_model_size():
    contents = [_encoded("JPEG", (800, 600)).numpy(), _encoded("PNG").numpy()]
    for draft in (True, False):
        batch = next(decoding.pillow_batches(contents, 64, 3, draft))
        assert batch.shape == (3, 64, 64, 3) and batch.dtype == np.uint8


def _image(width: int, height: int, fmt: str = "JPEG") -> ImageFile:
    return ImageFile(Path(f"{width}x{height}"), "a", 1, fmt, width, height)


def test_the_decode_cost_counts_pixels_as_the_decoder_would():
    images = [
        _image(4032, 3024),
        _image(4032, 3024, "MPO"),
        _image(4032, 3024, "PNG"),
        _image(200, 100),
    ]
    cost = decoding.decode_cost(images, 224)
    assert cost.ratios.tolist() == [8, 8, 1, 1]  # a PNG decodes in full, whatever its size
    assert cost.at_ratio.tolist() == [504 * 378] * 2 + [4032 * 3024, 200 * 100]
    # every decoded pixel beyond the model's 224 x 224 is thrown away; none of the small image's
    full = 3 * 4032 * 3024 + 200 * 100
    assert cost.thrown_away(cost.full) == pytest.approx(1 - (3 * 224 * 224 + 200 * 100) / full)
    assert [line.split() for line in cost.table().splitlines()[1:]] == [
        ["full", "size", "2", "12.2", "12.2"],
        ["1/8", "2", "24.4", "0.4"],
    ]


def test_the_decode_cost_says_which_remedy_applies():
    photos = str(decoding.decode_cost([_image(4032, 3024)] * 3, 224))
    assert "throws away 99.6% of the 36.6 megapixels" in photos and "3 of 3 images" in photos
    assert "decodes 1.6% of those pixels, and the resize throws away 73.7% of these" in photos
    assert "notebook 08" in photos and "notebook 07" in photos
    small = str(decoding.decode_cost([_image(300, 250), _image(640, 480, "PNG")], 224))
    assert (
        "at half its sides: decoding at a ratio saves nothing" in small and "notebook 07" in small
    )
    tiny = str(decoding.decode_cost([_image(200, 100)], 224))
    assert tiny == "No image is larger than the model's 224×224 px: decoding less saves nothing."
