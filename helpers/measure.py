"""Measuring pipelines: input-only throughput, best of interleaved rounds, the decode ceiling, epoch times.

Throughput is counted in images per second over a fixed number of batches, after a few
warm-up batches that pay for tracing, thread start-up and AUTOTUNE's first guesses.
The decode ceiling is the yardstick: how fast this machine decodes and resizes JPEGs
already in memory on all its cores. A pipeline is reported as a share of the ceiling
measured in the same process, so figures from different machines stay comparable.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from helpers.config import settings
from helpers.datasets import image_files

WARMUP_BATCHES = 3


@dataclass(frozen=True)
class Throughput:
    """Images delivered per second over the timed batches."""

    images_per_second: float
    batches: int
    images: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.images_per_second:,.0f} images/s "
                f"({self.images:,} images in {self.batches} batches, {self.seconds:.2f} s)")


def throughput(data: Iterable, batches: int | None = None, warmup: int = WARMUP_BATCHES,
               label: str | None = None) -> Throughput:
    """Time how fast ``data`` yields batches, doing nothing else with them.

    The loop notebook 01 writes out as ``throughput``: ``warmup`` batches untimed, then
    ``batches`` timed, images per second. This one adds a progress bar and copes with a
    ``data`` that ends early.

    ``data`` is anything iterable that yields batches whose first element holds the
    images: a ``tf.data.Dataset``, a Python generator, an ``ImageDataGenerator``
    iterator or a Keras ``PyDataset`` (iterated one batch at a time, as Python iterates
    it; ``fit()`` runs its workers in parallel). ``batches`` defaults to the scale's
    ``bench_batches``; a last partial batch counts its real size; a finite ``data`` may
    end early, and only the batches it gave are counted. ``label`` shows a progress bar.
    """
    batches = batches or settings().scale.bench_batches
    with tqdm(iter(data), total=warmup + batches, desc=label, unit="batch",
              disable=label is None, leave=False) as bar:
        stream = iter(bar)
        for _ in itertools.islice(stream, warmup):
            pass
        start = time.perf_counter()
        sizes = [len(tf.nest.flatten(batch)[0]) for batch in itertools.islice(stream, batches)]
        seconds = time.perf_counter() - start
    if not sizes:
        raise ValueError(f"The data ended within its {warmup} warm-up batches: nothing was timed")
    return Throughput(sum(sizes) / seconds, len(sizes), sum(sizes), seconds)


def best_of_rounds(pipelines: dict[str, Callable[[], Throughput]], rounds: int) -> dict[str, Throughput]:
    """Each pipeline measured once a round, round after round, so a busy moment hits them all alike; the best counts.

    ``pipelines`` maps a name to a function that measures that pipeline once. Used by the notebooks
    that compare pipelines and by the benchmark.
    """
    best: dict[str, Throughput] = {}
    with tqdm(total=rounds * len(pipelines), desc="measuring", unit="run", leave=False) as bar:
        for _ in range(rounds):
            for name, measure_once in pipelines.items():
                result = measure_once()
                if name not in best or result.images_per_second > best[name].images_per_second:
                    best[name] = result
                bar.update()
    return best


def decode_and_resize(contents: tf.Tensor, image_size: int) -> tf.Tensor:
    """Encoded image bytes (JPEG, PNG, GIF or BMP) as a float32 RGB square with values in [0, 255]."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    return tf.image.resize(image, (image_size, image_size))


def decode_ceiling(root: Path | str, image_size: int | None = None, batch_size: int | None = None,
                   batches: int | None = None, warmup: int = WARMUP_BATCHES,
                   label: str | None = None) -> Throughput:
    """The machine's decode ceiling: throughput of decoding and resizing in-memory JPEGs on all cores.

    Introduced in notebook 00; every pipeline notebook measures it again in its own process.
    The bytes of enough of the folder's files (spread over all classes) are read once;
    tf.data then decodes and resizes them with parallel calls: no file reads and no
    Python per image. Pipelines that read the same images rarely beat it, so report
    them against a ceiling measured in the same process with ``percent_of_ceiling``.
    Files that will not decode are passed over: the ceiling is a yardstick, not a pipeline.
    """
    scale = settings().scale
    image_size, batch_size = image_size or scale.image_size, batch_size or scale.batch_size
    batches = batches or scale.bench_batches
    files = [path for path, _ in image_files(Path(root))]
    # Only as many files as the timing consumes, so a large dataset does not fill memory.
    picked = np.linspace(0, len(files) - 1, min(len(files), (warmup + batches) * batch_size)).astype(int)
    contents = tf.constant([files[i].read_bytes() for i in picked])
    decoded = (tf.data.Dataset.from_tensor_slices(contents).repeat()
               .map(lambda image: decode_and_resize(image, image_size), num_parallel_calls=tf.data.AUTOTUNE)
               .ignore_errors()
               .batch(batch_size)
               .prefetch(tf.data.AUTOTUNE))
    return throughput(decoded, batches, warmup, label)


def percent_of_ceiling(measured: Throughput, ceiling: Throughput) -> float:
    """A pipeline's throughput as a percentage of the decode ceiling."""
    return 100 * measured.images_per_second / ceiling.images_per_second


class EpochTimer(keras.callbacks.Callback):
    """Keras callback collecting each epoch's wall-clock seconds (validation included) in ``seconds``.

    Every pipeline notebook times its training run with it (from notebook 01), for ``epoch_seconds``.
    """

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
