"""Throughput counts what it should, the full-decode ceiling bounds a slow pipeline, bench runs."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import pipelines
from helpers.bench import labelled_files
from helpers.config import ROOT
from helpers.measure import (
    EpochTimer,
    Throughput,
    best_of_rounds,
    decode_ceiling,
    percent_of_ceiling,
    throughput,
    training_throughput,
)


def paced(batches, pauses):
    """Yield each batch after its pause: a pipeline of known speed."""
    for batch, pause in zip(batches, pauses):
        time.sleep(pause)
        yield batch


def arrays(sizes):
    return [(np.zeros((size, 4, 4, 3), np.float32), np.zeros(size, np.int32)) for size in sizes]


def test_throughput_matches_a_known_pace_and_skips_warm_up():
    # Slow warm-up batches would drag the figure far below 200 images/s if they were timed.
    measured = throughput(paced(arrays([10] * 7), [0.4, 0.4] + [0.05] * 5), batches=5, warmup=2)
    assert (measured.batches, measured.images) == (5, 50)
    assert 150 < measured.images_per_second <= 205
    assert "images/s" in str(measured)


def test_partial_last_batch_counts_its_real_size():
    measured = throughput(arrays([8] * 6 + [2]), batches=100, warmup=1)
    # 5 full batches after warm-up, then 2 images
    assert (measured.batches, measured.images) == (6, 42)


def test_a_dataset_is_timed_over_whole_passes():
    # 2 batches a pass
    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((16, 4, 4, 3), np.float32)).batch(8)
    measured = throughput(dataset, batches=5, warmup=1, seconds=0)
    assert (measured.batches, measured.images) == (5, 40)


def test_data_that_ends_during_warm_up_is_an_error():
    with pytest.raises(ValueError, match="warm-up"):
        throughput(arrays([4, 4]), batches=3, warmup=2)


def test_decode_ceiling_bounds_a_slowed_pipeline(quick_dataset):
    paths, labels = labelled_files(quick_dataset)
    ceiling = decode_ceiling(paths, image_size=64, batch_size=8, seconds=0.5)
    slowed = throughput(
        paced(pipelines.from_files(paths, labels, 64, 8).repeat(), itertools.repeat(0.2)),
        batches=4,
        warmup=1,
        seconds=0,
    )
    assert ceiling.seconds >= 0.5
    assert ceiling.images_per_second > 0
    assert ceiling.images_per_second >= slowed.images_per_second
    assert percent_of_ceiling(ceiling, ceiling) == pytest.approx(100)


def test_epoch_timer_collects_one_duration_per_epoch():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    timer = EpochTimer()
    model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 3 and all(s > 0 for s in timer.seconds)


def test_training_throughput_times_two_seconds_after_warm_up():
    model = keras.Sequential(
        [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    # 8 images a batch, one batch every 50 ms at best: about 160 images/s
    def late(images):
        return tf.ensure_shape(
            tf.numpy_function(lambda v: time.sleep(0.05) or v, [images], tf.float32), images.shape
        )

    slowed = tf.data.Dataset.from_tensors(arrays([8])[0]).map(lambda x, y: (late(x), y))
    measured = training_throughput(model, slowed, 8, seconds=0.5)
    assert (
        measured.seconds >= 0.5
        and measured.batches >= 5
        and measured.images == 8 * measured.batches
    )
    assert 100 < measured.images_per_second <= 165


def test_best_of_rounds_interleaves_and_keeps_the_best():
    calls, rates = [], iter([100.0, 50.0, 300.0, 40.0])

    def once(name):
        def measure():
            calls.append(name)
            return Throughput(next(rates), 1, 1, 1.0)

        return measure

    best = best_of_rounds({"a": once("a"), "b": once("b")}, rounds=2)
    assert calls == ["a", "b", "a", "b"]
    assert {name: result.images_per_second for name, result in best.items()} == {
        "a": 300.0,
        "b": 50.0,
    }


def test_bench_smoke_run_prints_every_figure(quick_dataset):
    env = {**os.environ, "COURSE_DATA_DIR": str(quick_dataset.parent)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.bench",
            "--dataset",
            "embedded-quick",
            "--photos",
            "embedded-quick",
            "--batches",
            "3",
            "--warmup",
            "1",
            "--rounds",
            "2",
            "--seconds",
            "0.1",
            "--image-size",
            "64",
            "--batch-size",
            "8",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    for name in (
        "full-decode ceiling",
        "tf.data (",
        "tf.data + uint8 file cache",
        "TFRecords, pre-resized",
        "image_dataset_from_directory",
        "ImageDataGenerator.flow_from_directory",
    ):
        assert any(line.startswith(name) and "images/s" in line for line in lines), run.stdout
    for name in ("decoded at a ratio", "Pillow, full decode", "Pillow with draft"):
        assert any(line.startswith(name) and "images/s" in line for line in lines), run.stdout
    for ratio in (
        "tf.data / ImageDataGenerator:",
        "pre-resized TFRecords / tf.data:",
        "x faster)",
        "decoded at a ratio / full decode:",
        "decoded at a ratio / Pillow with draft:",
    ):
        assert ratio in run.stdout
    # The cache file holds exactly the predicted uint8 pixels, give or take its index.
    cache_ratio = float(re.search(r"uint8 cache file: .* \(ratio ([\d.]+)\)", run.stdout).group(1))
    assert 1.0 <= cache_ratio < 1.01
