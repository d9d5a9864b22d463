"""Conditions read from what was measured: one vocabulary for the generator and the layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers.conditions import ImageDataGenerator, conditions, describe_augmentation

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
