"""Conditions read from what was measured: one vocabulary for the generator and the layers."""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import lessons, results
from helpers.conditions import (
    ImageDataGenerator,
    MixedRow,
    check_rows,
    conditions,
    describe_augmentation,
    of_pipelines,
    shuffle_and_cache,
)

ARGUMENTS = dict(
    rotation_range=15,
    width_shift_range=0.1,
    height_shift_range=0.1,
    zoom_range=0.1,
    horizontal_flip=True,
)


def _layers(rotation: float = 15) -> keras.Sequential:
    return keras.Sequential(
        [
            keras.layers.RandomRotation(rotation / 360, fill_mode="nearest"),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
            keras.layers.RandomZoom(0.1, 0.1, fill_mode="nearest"),
            keras.layers.RandomFlip("horizontal"),
        ]
    )


def test_the_generator_and_the_layers_describe_the_same_work_alike():
    described = describe_augmentation(ImageDataGenerator(**ARGUMENTS))
    assert described == describe_augmentation(_layers())
    assert described["rotation_degrees"] == (-15, 15) and described["zoom"] == ((-0.1, 0.1),) * 2


@pytest.mark.parametrize(
    "generator, layers",
    [
        (ImageDataGenerator(**ARGUMENTS), _layers(rotation=20)),
        (ImageDataGenerator(**ARGUMENTS, shear_range=5), _layers()),
        (ImageDataGenerator(**{**ARGUMENTS, "fill_mode": "reflect"}), _layers()),
        (
            ImageDataGenerator(**ARGUMENTS),
            keras.Sequential([*_layers().layers, keras.layers.RandomContrast(0.2)]),
        ),
    ],
)
def test_any_other_transformation_tells_them_apart(generator, layers):
    assert describe_augmentation(generator) != describe_augmentation(layers)


def test_no_augmentation_is_described_alike_for_both():
    assert describe_augmentation(ImageDataGenerator()) == describe_augmentation(None) == {}


def test_conditions_are_read_from_the_loaders(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (40, 30)).save(tmp_path / name / f"{i}.jpg")
    iterator = ImageDataGenerator(**ARGUMENTS).flow_from_directory(
        tmp_path, target_size=(24, 24), batch_size=2, class_mode="sparse"
    )
    dataset = tf.data.Dataset.from_tensors((np.zeros((2, 24, 24, 3), np.float32), [0, 1]))
    generator_side, dataset_side = conditions(iterator), conditions(dataset, _layers())
    assert generator_side.pop("loader") == "ImageDataGenerator"
    assert dataset_side.pop("loader") == "tf.data"
    assert generator_side == dataset_side  # the same augmentation, sizes and process
    assert conditions(dataset)["augmentation"] == {}


def _crop_and_flip(image: tf.Tensor, label: tf.Tensor, image_size: int, delta: float = 0.1):
    image = tf.image.random_crop(image, (image_size, image_size, 3))
    return tf.image.random_brightness(tf.image.random_flip_left_right(image), delta), label


def test_a_function_is_described_by_its_name_and_parameters():
    described = describe_augmentation(partial(_crop_and_flip, image_size=24))
    assert described == {"_crop_and_flip": {"image_size": 24, "delta": 0.1}}
    assert describe_augmentation(partial(_crop_and_flip, image_size=24, delta=0.2)) != described
    assert describe_augmentation(partial(_crop_and_flip, 24)) != described  # bound by position
    assert describe_augmentation(keras.layers.RandomFlip("horizontal")) != described


def _images(labels: list[int]) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((np.zeros((len(labels), 8, 8, 3)), labels))


def test_shuffle_and_cache_are_read_from_the_chain_of_datasets(tmp_path):
    mixed = _images([1, 0, 2, 0]).cache(str(tmp_path / "cache")).shuffle(64).batch(2)
    assert shuffle_and_cache(mixed) == {
        "shuffle": "buffer of 64 over a list not sorted by label",
        "cache": "file",
    }
    in_memory = _images([0, 0, 1, 2]).shuffle(3).cache().repeat().batch(2).prefetch(1)
    assert shuffle_and_cache(in_memory) == {
        "shuffle": "buffer of 3 over a list sorted by label",
        "cache": "memory",
    }
    assert shuffle_and_cache(_images([0, 1]).batch(2)) == {"shuffle": "none", "cache": "none"}


def _shuffle_lesson(order: list[int], buffer: int = 4) -> tuple[dict, tf.data.Dataset]:
    data = _images(order).shuffle(buffer, seed=0).batch(2)
    return conditions(data, **shuffle_and_cache(data)), data


def _record_shuffle_lesson(sorted_side: dict, shuffled_side: dict) -> results.Recorded:
    return results.record(
        "03_shuffle",
        conditions={
            "val_accuracy_sorted_small_buffer": sorted_side,
            "val_accuracy_full_shuffle": shuffled_side,
        },
        val_accuracy_sorted_small_buffer=0.4,
        val_accuracy_full_shuffle=0.9,
    )


def test_a_lesson_is_checked_on_what_it_varies_and_on_everything_else(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    (sorted_side, _), (shuffled_side, _) = (
        _shuffle_lesson([0, 0, 1, 1]),
        _shuffle_lesson([1, 0, 1, 0]),
    )
    (row,) = _record_shuffle_lesson(sorted_side, shuffled_side).lessons
    assert row["differs_in"].startswith("shuffle only: augmentation, batch size, cache, image")
    with pytest.raises(
        lessons.UnlikeSides, match="differ in shuffle, but both record 'buffer of 4 over a list not"
    ):
        _record_shuffle_lesson(shuffled_side, shuffled_side)
    other_buffer, _ = _shuffle_lesson([1, 0, 1, 0], buffer=8)  # a buffer is the shuffle too
    _record_shuffle_lesson(sorted_side, other_buffer)
    with pytest.raises(lessons.UnlikeSides, match=r"differ in cache \('none' against 'memory'\)"):
        _record_shuffle_lesson(sorted_side, shuffled_side | {"cache": "memory"})


def test_a_row_whose_figures_come_from_different_pipelines_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    (unsorted, training), (_, other) = _shuffle_lesson([1, 0, 1, 0]), _shuffle_lesson([1, 0], 2)
    row = results.Pipeline("p", 900.0, 1000.0, trace=0.2, history=0.8)
    alike = dict.fromkeys(["images_per_second", "wait_share", "val_accuracy"], unsorted)
    assert results.record("03_row", row, conditions=alike).rows[0]["images_per_second"] == 900
    unaugmented = conditions(training, **shuffle_and_cache(training))
    augmented = conditions(
        training, partial(_crop_and_flip, image_size=8), **shuffle_and_cache(training)
    )
    for images_per_second in (unaugmented, conditions(other, **shuffle_and_cache(other))):
        mixed = {"images_per_second": images_per_second, "val_accuracy": augmented}
        with pytest.raises(MixedRow, match="the row 'p' mixes .*: augmentation"):
            results.record("03_mixed", row, conditions=mixed)
    assert "03_mixed" not in results.load_results()
    with pytest.raises(MixedRow, match="the row 'b'"):
        check_rows([{"pipeline": "b"}], {"images_per_second": unaugmented, "wait_share": augmented})


def test_of_pipelines_reads_each_figure_from_its_own_pipeline():
    cached, plain = _images([1, 0]).cache().shuffle(2).batch(2), _images([0, 1]).batch(2)
    augment = partial(_crop_and_flip, image_size=8)
    under = of_pipelines({"a": cached, ("b", "c"): plain}, augment, model="m")
    assert under["a"]["cache"] == "memory" and under["a"]["model"] == "m"
    assert under["b"] == under["c"] and under["b"]["shuffle"] == "none"
    assert under["b"]["augmentation"] == {"_crop_and_flip": {"image_size": 8, "delta": 0.1}}
