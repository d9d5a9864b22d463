"""Compositing material: RGBA cut-outs with soft edges that fill their square; plain textured backgrounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from helpers.compositing import alpha_shares, make_backgrounds, make_foregrounds, make_material
from helpers.embedded import CLASSES


def test_foregrounds_are_one_rgba_png_per_shape_in_turn(tmp_path):
    paths = make_foregrounds(tmp_path / "fg", count=len(CLASSES) + 1, size=64)
    assert [p.name for p in paths] == [
        f"{name}_{i:03d}.png" for i, name in enumerate((*CLASSES, CLASSES[0]))
    ]
    for path in paths:
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (64, 64))


def test_foreground_alpha_is_opaque_inside_transparent_outside_and_soft_at_the_edge(tmp_path):
    for path in make_foregrounds(tmp_path, count=len(CLASSES), size=64):
        alpha = np.asarray(Image.open(path))[..., 3]
        assert alpha[32, 32] == 255, path.name  # every shape covers its centre
        assert alpha[0, 0] == 0, path.name  # and no shape reaches a corner
        assert np.count_nonzero((alpha > 0) & (alpha < 255)) > 20, f"{path.name}: hard edges"
        rows, columns = np.nonzero(alpha > 127)
        spans = (rows.max() - rows.min() + 1, columns.max() - columns.min() + 1)
        assert max(spans) >= 60, f"{path.name}: the shape spans {spans} of 64 pixels"


def test_same_seed_same_pixels_other_seed_other_pixels(tmp_path):
    def pixels(folder, seed):
        paths = [
            *make_foregrounds(tmp_path / folder, count=2, size=32, seed=seed),
            *make_backgrounds(tmp_path / folder, count=2, seed=seed),
        ]
        return [np.asarray(Image.open(p)) for p in paths]

    first, again, other = pixels("a", 0), pixels("b", 0), pixels("c", 1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(a.shape == c.shape and np.array_equal(a, c) for a, c in zip(first, other))


def test_backgrounds_are_photo_sized_jpegs_without_a_shape(tmp_path):
    for path in make_backgrounds(tmp_path, count=4):
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert 300 <= min(image.size) and max(image.size) <= 700
            pixels = np.asarray(image.convert("HSV"), np.float32)
        # The embedded shapes are saturated, bright fills (saturation over 0.7, value over 0.75); the textures are not.
        assert np.mean((pixels[..., 1] > 0.7 * 255) & (pixels[..., 2] > 0.75 * 255)) < 0.01, (
            path.name
        )


def test_make_material_starts_afresh_and_returns_string_paths(tmp_path):
    (tmp_path / "material").mkdir()
    (tmp_path / "material" / "left_over.png").write_bytes(b"")
    foregrounds, backgrounds = make_material(
        tmp_path / "material", foregrounds=3, backgrounds=2, size=32
    )
    assert [len(foregrounds), len(backgrounds)] == [3, 2]
    assert all(isinstance(p, str) for p in (*foregrounds, *backgrounds))
    assert not (tmp_path / "material" / "left_over.png").exists()
    assert all(Path(p).parent.name == "textures" for p in backgrounds)


def test_alpha_shares_add_up_and_show_a_soft_edge(tmp_path):
    shares = alpha_shares(make_foregrounds(tmp_path, count=1, size=64)[0])
    assert abs(sum(shares.values()) - 1) < 2e-3
    assert shares["opaque"] > 0.2 and shares["transparent"] > 0.05 and shares["soft edge"] > 0


def test_random_square_crop_is_square_repeatable_and_within_the_image():
    import tensorflow as tf

    from helpers.compositing import random_square_crop

    image = tf.cast(tf.reshape(tf.range(60 * 40 * 3) % 256, (60, 40, 3)), tf.uint8)
    crops = [
        random_square_crop(image, 16, tf.constant([n, 0]), tf.constant([n, 1])) for n in (0, 0, 1)
    ]
    assert crops[0].shape == (16, 16, 3) and crops[0].dtype == tf.float32
    assert bool(tf.reduce_all(crops[0] == crops[1]))  # the same seeds, the same crop
    assert float(tf.reduce_max(crops[2])) <= 255 and float(tf.reduce_min(crops[2])) >= 0
