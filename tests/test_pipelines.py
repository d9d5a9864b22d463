"""The training batches notebook 01 compares under ``fit()``: endless, and augmented batch by batch."""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf

from helpers import pipelines
from helpers.bench import labelled_files


def test_training_batches_repeat_and_hand_whole_batches_to_the_augmentation(quick_dataset):
    paths, labels = labelled_files(quick_dataset)
    seen = []

    def blank(images, training=False):
        seen.append((images.shape.rank, training))
        return tf.zeros_like(images)

    plain = pipelines.training_batches(paths[:10], labels[:10], 32, 4)
    blanked = pipelines.training_batches(paths[:10], labels[:10], 32, 4, augmentation=blank)
    batches = list(itertools.islice(plain, 6))  # more than the 10 files hold: it repeats
    assert [len(images) for images, _ in batches] == [4] * 6
    assert batches[0][0].shape == (4, 32, 32, 3) and batches[0][0].dtype == tf.float32
    assert seen == [(4, True)]  # traced once, on batches, for training
    assert np.asarray(batches[0][0]).max() > 0
    images, blank_labels = next(iter(blanked))
    assert images.shape == (4, 32, 32, 3) and np.asarray(images).max() == 0
    assert set(np.asarray(blank_labels)) <= set(labels[:10])
