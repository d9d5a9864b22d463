"""The input pipelines the notebooks teach, for the notebooks after them and the benchmark.

Each function here is written out in the notebook its docstring names, where the learner
reads it; later notebooks and ``helpers.bench`` call it from here, so there is one version
(tests/test_taught_code.py checks that the two copies agree).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers.tfrecords import FEATURES

AUTOTUNE = tf.data.AUTOTUNE
SHUFFLE_BUFFER = 256  # file names; the list is already shuffled in full
Split = tuple[np.ndarray, np.ndarray]  # paths and labels


def split(
    paths: Sequence[str], labels: Sequence[int], validation_share: float = 0.2, seed: int = 0
) -> tuple[Split, Split]:
    """Shuffle the file list once, in full, then cut it: (train paths, labels), (validation ...).

    Taught in notebook 03.
    """
    order = np.random.default_rng(seed).permutation(len(paths))  # one full shuffle, seeded
    paths, labels = np.asarray(paths)[order], np.asarray(labels)[order]
    n_val = round(validation_share * len(paths))
    return (paths[n_val:], labels[n_val:]), (paths[:n_val], labels[:n_val])


def decode(path: tf.Tensor) -> tf.Tensor:
    """A file's image as uint8 RGB of rank 3, whatever its format (JPEG, PNG, GIF, BMP).

    Taught in notebook 03.
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])  # height and width are known only once the file is read
    return image


def load(path: tf.Tensor, label: tf.Tensor, image_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """One image at the model's size, float32 in [0, 255], with its label. Taught in notebook 03."""
    return tf.image.resize(decode(path), (image_size, image_size)), label


def augment(image: tf.Tensor, label: tf.Tensor, image_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """A random crop, flip, brightness and contrast of a decoded image of any size.

    Returns float32 in [0, 255] at the model's size. Taught in notebook 03.
    """
    crop_from = round(1.125 * image_size)  # resize slightly larger, then crop at random
    image = tf.image.resize(image, (crop_from, crop_from))
    image = tf.image.random_crop(image, (image_size, image_size, 3))
    image = tf.image.random_flip_left_right(image)
    image = tf.image.random_brightness(image, max_delta=25.0)  # values are in [0, 255]
    image = tf.image.random_contrast(image, 0.8, 1.2)
    return tf.clip_by_value(image, 0.0, 255.0), label


def load_and_augment(
    path: tf.Tensor, label: tf.Tensor, image_size: int
) -> tuple[tf.Tensor, tf.Tensor]:
    """A training image: decoded, then augmented (one resize, from the decoded size). Taught in notebook 03."""
    return augment(decode(path), label, image_size)


def from_files(
    paths: Sequence[str],
    labels: Sequence[int],
    image_size: int,
    batch_size: int,
    training: bool = False,
) -> tf.data.Dataset:
    """Shuffle, repeat, decode (and augment) in parallel, batch, prefetch. Taught in notebook 03.

    For training: shuffled, augmented, endless (pass ``steps_per_epoch`` to ``fit``) and in
    whatever order the parallel map finishes. For validation: one pass, in order.
    """
    dataset = tf.data.Dataset.from_tensor_slices((paths, labels))
    if training:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=0, reshuffle_each_iteration=True).repeat()
    prepare = load_and_augment if training else load
    dataset = dataset.map(
        lambda path, label: prepare(path, label, image_size),
        num_parallel_calls=AUTOTUNE,
        deterministic=not training,
    )
    return dataset.batch(batch_size).prefetch(AUTOTUNE)


def training_batches(
    paths: Sequence[str],
    labels: Sequence[int],
    image_size: int,
    batch_size: int,
    augmentation: Callable[..., tf.Tensor] | None = None,
) -> tf.data.Dataset:
    """Training batches decoded like notebook 03's but without its augmentation: shuffled, endless.

    ``augmentation`` (Keras preprocessing layers, say), if given, then maps whole batches in
    parallel, called with ``training=True``; batches come in whatever order the maps finish.
    Notebook 01 gives it ``ImageDataGenerator``'s transformations as layers, so that the two
    loaders it compares under ``fit()`` do the same work.
    """

    def augment_batch(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return augmentation(images, training=True), labels

    dataset = (
        tf.data.Dataset.from_tensor_slices((list(paths), list(labels)))
        .shuffle(SHUFFLE_BUFFER, seed=0, reshuffle_each_iteration=True)
        .repeat()
        .map(partial(load, image_size=image_size), num_parallel_calls=AUTOTUNE, deterministic=False)
        .batch(batch_size)
    )
    if augmentation is not None:
        dataset = dataset.map(augment_batch, num_parallel_calls=AUTOTUNE, deterministic=False)
    return dataset.prefetch(AUTOTUNE)


def load_uint8(path: tf.Tensor, label: tf.Tensor, image_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """An image resized and rounded to uint8: what a cache should hold (a quarter of float32).

    Taught in notebook 06.
    """
    image, label = load(path, label, image_size)  # notebook 03's: float32 in [0, 255]
    return tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8), label


def to_float(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Cached uint8 images back to float32 for the model. Taught in notebook 06."""
    return tf.cast(images, tf.float32), labels


def uint8_cached(
    paths: Sequence[str],
    labels: Sequence[int],
    image_size: int,
    batch_size: int,
    cache: Path | str = "",
) -> tf.data.Dataset:
    """Load once into a uint8 cache ("": memory, else a file prefix), then batch and cast.

    Taught in notebook 06. One pass, in order; the cast to float32 runs once per batch.
    """
    return (
        tf.data.Dataset.from_tensor_slices((list(paths), list(labels)))
        .map(partial(load_uint8, image_size=image_size), num_parallel_calls=AUTOTUNE)
        .cache(str(cache))
        .batch(batch_size)
        .map(to_float, num_parallel_calls=AUTOTUNE)  # once per batch, not once per image
        .prefetch(AUTOTUNE)
    )


def parse_record(record: tf.Tensor, image_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """A ``tf.train.Example`` of the course's TFRecords as (image, label), resized. Taught in notebook 07."""
    example = tf.io.parse_single_example(record, FEATURES)
    image = tf.io.decode_image(example["image"], channels=3, expand_animations=False)  # any format
    image.set_shape([None, None, 3])
    return tf.image.resize(image, (image_size, image_size)), example["label"]


def from_records(
    files: Sequence[str],
    image_size: int,
    batch_size: int,
    training: bool = False,
    drop_remainder: bool = False,
    parse: Callable[[tf.Tensor], tuple] | None = None,
    deterministic: bool | None = None,
) -> tf.data.Dataset:
    """Interleaved reads of TFRecord shards, parsed (and augmented) in parallel, batched. Taught in notebook 07.

    For training: the shards and the records shuffled, augmented, endless, in whatever order the
    parallel reads finish. For validation: one pass, in order. ``drop_remainder=True`` gives every
    batch the same static shape, as a TPU needs (notebook 09). ``parse`` (a record to an image and
    a label) replaces the decoding, resizing and augmentation: notebook 09's keeps the images uint8
    for the device. ``deterministic=False`` lets a fast shard overtake a slow one in validation too,
    as reads from a bucket want (notebook 09); by default only training reads out of order.
    """
    in_order = not training if deterministic is None else deterministic
    shards = tf.data.Dataset.from_tensor_slices(list(files))
    if training:  # a new order of the shards every epoch
        shards = shards.shuffle(len(files), seed=0, reshuffle_each_iteration=True)
    records = shards.interleave(
        tf.data.TFRecordDataset, cycle_length=4, num_parallel_calls=AUTOTUNE, deterministic=in_order
    )
    if training:  # then the records, in a buffer, while they are still small
        records = records.shuffle(SHUFFLE_BUFFER, seed=0, reshuffle_each_iteration=True).repeat()

    def prepare(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image, label = parse_record(record, image_size)
        return augment(image, label, image_size) if training else (image, label)

    return (
        records.map(parse or prepare, num_parallel_calls=AUTOTUNE, deterministic=in_order)
        .batch(batch_size, drop_remainder=drop_remainder)  # True: static shapes (notebook 09)
        .prefetch(AUTOTUNE)
    )
