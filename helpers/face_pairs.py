"""Face pairs for verification: people, a split by people, checks on pairs, stateless draws, models.

Notebook 05 writes the pair generator and the sampling pipeline in TensorFlow ops itself; this
module holds what they stand on: where the pairs come from (Labeled Faces in the Wild at full
scale, the course dataset's classes standing in for people otherwise), each person's good
images, a validation split, a pair shown and checked as a reader reads it, the stateless random
draws of a positive and a negative pair in TensorFlow ops, a small siamese verifier, and
``helpers.accelerator``'s stand-in step made to take pairs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import accelerator, datasets
from helpers.config import Settings
from helpers.profiling import StepSummary
from helpers.scan import ScanReport

MANY_PEOPLE = 50  # from this many people on, validation uses people unseen in training
# two paths (str from Python, bytes from TensorFlow), same person
Pair = tuple[str | bytes, str | bytes, float]


def pairs_folder(full_scale: bool) -> tuple[Path, str]:
    """The folder to draw pairs from, and what it is: LFW at full scale (if it can be had), else the course dataset."""
    source = "the course dataset, its classes standing in for people"
    if full_scale:
        try:
            return datasets.dataset_dir("lfw"), "Labeled Faces in the Wild"
        except datasets.DatasetUnavailable as error:
            source += f" (LFW is unavailable: {error})"
    return datasets.dataset_dir(), source


def images_by_person(report: ScanReport) -> list[list[str]]:
    """Each person's good image paths (a class folder per person); people without a good image are left out."""
    paths, labels = report.good_files()
    people: list[list[str]] = [[] for _ in report.classes]
    for path, label in zip(paths, labels):
        people[label].append(path)
    return [images for images in people if images]


def split_people(
    people: Sequence[list[str]], val_share: float = 0.2, seed: int = 0
) -> tuple[list[list[str]], list[list[str]]]:
    """Training and validation people: whole people held out when there are many, images when there are few.

    The LFW benchmark checks verification on people unseen in training; with fewer than
    ``MANY_PEOPLE`` there are too few to hold any out, so a share of each person's images is.
    Every image lands in one of the two.
    """
    rng = np.random.default_rng(seed)
    if len(people) >= MANY_PEOPLE:
        order = rng.permutation(len(people))
        n_val = round(val_share * len(people))
        return [people[i] for i in order[n_val:]], [people[i] for i in order[:n_val]]
    shuffled = [rng.permutation(images).tolist() for images in people]
    n_val = [round(val_share * len(images)) for images in shuffled]
    return (
        [images[n:] for images, n in zip(shuffled, n_val) if images[n:]],
        [images[:n] for images, n in zip(shuffled, n_val) if n],
    )


def describe(first: str | bytes, second: str | bytes, same: float) -> str:
    """A pair as ``class/file + class/file: same`` (or ``different``)."""
    first, second = (Path(os.fsdecode(path)) for path in (first, second))
    return (
        f"{first.parent.name}/{first.name} + {second.parent.name}/{second.name}: "
        f"{'same' if same else 'different'}"
    )


def check_pairs(pairs: Iterable[Pair]) -> str:
    """How many pairs are positive, and whether every label says what the two folders say."""
    pairs = [
        (Path(os.fsdecode(first)), Path(os.fsdecode(second)), same) for first, second, same in pairs
    ]
    agree = all(
        (first.parent == second.parent) == bool(same) and first != second
        for first, second, same in pairs
    )
    return (
        f"{len(pairs)} pairs, {sum(same for *_, same in pairs):.0f} positive; every label agrees with "
        f"the folders and no image is paired with itself: {agree}"
    )


def columns(pairs: Iterable[Pair]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs as three arrays (first paths, second paths, float32 labels): one tensor each for tf.data."""
    first, second, same = zip(*pairs)
    return np.array(first), np.array(second), np.array(same, dtype=np.float32)


def random_index(n: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """An int64 index below ``n``, drawn by a stateless op: the same seed gives the same index, on any thread."""
    return tf.random.stateless_uniform([], seed, maxval=tf.cast(n, tf.int64), dtype=tf.int64)


def two_random_indices(n: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Two different indices below ``n``, every pair of them equally likely."""
    first_seed, second_seed = tf.unstack(tf.random.split(seed))
    first, second = random_index(n, first_seed), random_index(n - 1, second_seed)
    return first, second + tf.cast(second >= first, tf.int64)  # step over the first


def pick(values: tf.Tensor | tf.RaggedTensor, seed: tf.Tensor) -> tf.Tensor:
    """A random row of ``values`` (a ragged tensor's row, or a vector's element), drawn by a stateless op."""
    rows = values.nrows() if isinstance(values, tf.RaggedTensor) else tf.size(values)
    return values[random_index(rows, seed)]


def positive_pair(
    repeated: tf.RaggedTensor, number: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, float]:
    """Two different images of one person, drawn by stateless ops seeded by ``number`` (from ``Dataset.random``).

    ``repeated`` holds a row of paths per person with two images or more.
    """
    person_seed, images_seed = tf.unstack(tf.random.split([number, 0]))
    images = pick(repeated, person_seed)  # one person's paths
    first, second = two_random_indices(tf.size(images), images_seed)
    return images[first], images[second], 1.0


def negative_pair(
    images_of: tf.RaggedTensor, number: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, float]:
    """An image of each of two different people (``images_of``: a row of paths per person)."""
    people_seed, first_seed, second_seed = tf.unstack(tf.random.split([number, 0], 3))
    person, other = two_random_indices(images_of.nrows(), people_seed)
    return pick(images_of[person], first_seed), pick(images_of[other], second_seed), 0.0


def siamese_verifier(image_size: int, embedding_size: int = 32) -> keras.Model:
    """Two images in, the probability that they show the same person out (compiled).

    Both images go through one tower (the same layers, the same weights); the head looks at the
    absolute difference of the two embeddings, which does not depend on their order. The tower
    is small on purpose: a real face verifier would start from a pretrained face embedding.
    """
    tower = keras.Sequential(
        [
            keras.Input((image_size, image_size, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(embedding_size),
        ],
        name="tower",
    )
    first, second = (keras.Input((image_size, image_size, 3)) for _ in range(2))
    distance = keras.ops.abs(tower(first) - tower(second))
    model = keras.Model(
        (first, second), keras.layers.Dense(1, activation="sigmoid")(distance), name="siamese"
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def stand_in_verifier(image_size: int) -> keras.Model:
    """The accelerator stand-in's model for pairs: real, and a millisecond or two of CPU a step.

    Each image is averaged to its mean colour; a dense layer reads the two colours' absolute
    difference. Loss and accuracy are real, if poor: the point is the step's timing.
    """
    first, second = (keras.Input((image_size, image_size, 3)) for _ in range(2))
    mean_colour = keras.Sequential(
        [keras.layers.Rescaling(1 / 255), keras.layers.GlobalAveragePooling2D()]
    )
    distance = keras.ops.abs(mean_colour(first) - mean_colour(second))
    model = keras.Model(
        (first, second),
        keras.layers.Dense(1, activation="sigmoid")(distance),
        name="accelerator_stand_in",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def profile_pair_stand_in(
    data: Iterable, settings: Settings, name: str = "accelerator_stand_in"
) -> StepSummary:
    """``helpers.accelerator``'s stand-in step for batches of pairs: device time for both images of each pair."""
    model = stand_in_verifier(settings.scale.image_size)
    return accelerator.profile_on_device(
        model, data, settings, name, images=2 * settings.scale.batch_size
    )
