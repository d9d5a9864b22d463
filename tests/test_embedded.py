"""The embedded dataset: deterministic, photo-like, reused and repaired, learnable."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from helpers.embedded import CLASSES, IMAGES_PER_CLASS, generate_embedded, render_image


def _jpeg(rendered) -> bytes:
    image, quality = rendered
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_same_seed_gives_same_bytes_and_another_seed_does_not():
    assert _jpeg(render_image(0, 3, 7)) == _jpeg(render_image(0, 3, 7))
    assert _jpeg(render_image(0, 3, 7)) != _jpeg(render_image(1, 3, 7))


def test_quick_dataset_has_the_cost_profile_of_photos(quick_dataset):
    files = sorted(quick_dataset.rglob("*.jpg"))
    assert len(files) == len(CLASSES) * IMAGES_PER_CLASS["quick"]
    assert sorted(p.name for p in quick_dataset.iterdir() if p.is_dir()) == sorted(CLASSES)
    sides = np.array([Image.open(p).size for p in files[::10]])
    assert sides.min() >= 300 and sides.max() <= 700
    kilobytes = np.mean([p.stat().st_size for p in files]) / 1e3
    assert 20 < kilobytes < 200, f"mean file size {kilobytes:.0f} KB"


def test_second_call_keeps_good_files_and_redraws_missing_or_altered(quick_dataset):
    manifest = json.loads((quick_dataset / "manifest.json").read_text())["files"]
    missing, altered, untouched = (quick_dataset / name for name in sorted(manifest)[:3])
    before = untouched.stat().st_mtime_ns
    missing.unlink()
    altered.write_bytes(b"not what the generator wrote")

    assert generate_embedded("quick", progress=False) == quick_dataset

    assert untouched.stat().st_mtime_ns == before
    for path in (missing, altered):
        assert path.read_bytes() == _jpeg(
            render_image(0, CLASSES.index(path.parent.name), int(path.stem[-4:]))
        )


def test_a_small_cnn_learns_the_classes_in_two_epochs(quick_dataset):
    import keras

    from helpers.models import build_model

    keras.utils.set_random_seed(0)
    train, val = keras.utils.image_dataset_from_directory(
        quick_dataset,
        image_size=(128, 128),
        batch_size=32,
        validation_split=0.2,
        subset="both",
        seed=0,
        verbose=False,
    )
    model = build_model("small_cnn", len(CLASSES), 128)
    model.fit(train, epochs=2, verbose=0, shuffle=False)  # the dataset shuffles itself
    _, accuracy = model.evaluate(val, verbose=0)
    assert accuracy > 0.5, f"validation accuracy {accuracy:.2f}, chance is {1 / len(CLASSES):.2f}"
