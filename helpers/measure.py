"""Measuring pipelines: input-only throughput, best of rounds, the full-decode ceiling, epoch times.

Throughput is counted in images per second over at least a number of batches and at least
two seconds (shorter timings are mostly noise), after a few warm-up batches that pay for
tracing, thread start-up and AUTOTUNE's first guesses. The full-decode ceiling is the yardstick:
how fast this machine decodes every pixel of the good files' bytes, already in memory, and resizes
them on all its cores: an upper bound for pipelines that decode the same files in full. A pipeline
is reported as a share of the ceiling measured beside it, so figures from different machines stay
comparable; one that decodes less (at a ratio) or nothing (a cache, records) as a multiple of it.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from helpers.config import settings

WARMUP_BATCHES = 3
MIN_SECONDS = 2.0  # time every measurement at least this long: shorter ones are mostly noise
UNTIL_STOPPED = 1_000_000  # steps for a fit that a callback ends: more than any measurement takes
CEILING_BYTES = 256 * 2**20  # encoded bytes the full-decode ceiling holds in memory at most


@dataclass(frozen=True)
class Throughput:
    """Images delivered per second over the timed batches."""

    images_per_second: float
    batches: int
    images: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.images_per_second:,.0f} images/s "
            f"({self.images:,} images in {self.batches} batches, {self.seconds:.2f} s)"
        )


def throughput(
    data: Iterable,
    batches: int | None = None,
    warmup: int = WARMUP_BATCHES,
    label: str | None = None,
    seconds: float = MIN_SECONDS,
) -> Throughput:
    """Time how fast ``data`` yields batches, doing nothing else with them.

    ``data`` is anything iterable that yields batches whose first element holds the
    images: a ``tf.data.Dataset``, a Python generator, an ``ImageDataGenerator``
    iterator or a Keras ``PyDataset`` (iterated one batch at a time, as Python iterates
    it; ``fit()`` runs its workers in parallel). After ``warmup`` batches it times at least
    ``batches`` batches (default: the scale's ``bench_batches``) and at least ``seconds``,
    so a fast pipeline is not timed over a few milliseconds. A ``tf.data.Dataset`` is repeated, so
    batches prefetched during warm-up do not count as free; other finite ``data`` may end early, and
    only the batches it gave are counted (a last partial batch counts its real size).
    ``label`` shows a progress bar. Written out in notebook 01.
    """
    batches = batches or settings().scale.bench_batches
    # time whole passes, not one pass's tail after warm-up filled its buffers
    if isinstance(data, tf.data.Dataset):
        data = data.repeat()
    with tqdm(
        iter(data),
        total=warmup + batches,
        desc=label,
        unit="batch",
        disable=label is None,
        leave=False,
    ) as bar:
        stream = iter(bar)
        for _ in itertools.islice(stream, warmup):
            pass
        sizes: list[int] = []
        start = time.perf_counter()
        for batch in stream:
            sizes.append(len(tf.nest.flatten(batch)[0]))
            if len(sizes) >= batches and time.perf_counter() - start >= seconds:
                break
        elapsed = time.perf_counter() - start
    if not sizes:
        raise ValueError(f"The data ended within its {warmup} warm-up batches: nothing was timed")
    return Throughput(sum(sizes) / elapsed, len(sizes), sum(sizes), elapsed)


def best_of_rounds(
    pipelines: dict[str, Callable[[], Throughput]], rounds: int
) -> dict[str, Throughput]:
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


def decode_ceiling(
    paths: Sequence[Path | str],
    image_size: int | None = None,
    batch_size: int | None = None,
    label: str | None = None,
    seconds: float = MIN_SECONDS,
    max_bytes: int = CEILING_BYTES,
    decode: Callable[[tf.Tensor, int], tf.Tensor] = decode_and_resize,
) -> Throughput:
    """The machine's full-decode ceiling: decoding and resizing in-memory images on all cores.

    ``paths`` are images that decode (a scan's good files). Their bytes are read once, all of
    them or an evenly spaced sample of at most ``max_bytes``, so the ceiling sees the same mix
    of small and huge images as a pipeline over the folder. tf.data then decodes and resizes
    them in parallel, in whatever order they finish, and batches them (map and batch fuse):
    the work a decoding pipeline does, without its file reads and its Python. A pipeline that
    decodes the same files should not beat it by more than the noise; report pipelines against
    a ceiling measured beside them with ``percent_of_ceiling``. Introduced in notebook 00.
    ``decode`` (bytes, image size -> image) measures another decoder on the same bytes the same
    way, such as ``decoding.resize_at_ratio``, which decodes less.
    """
    contents = in_memory(paths, max_bytes)
    return decode_rate(contents, image_size, batch_size, label, seconds, decode=decode)


def decode_rate(
    contents: Sequence[bytes],
    image_size: int | None = None,
    batch_size: int | None = None,
    label: str | None = None,
    seconds: float = MIN_SECONDS,
    batches: int | None = None,
    decode: Callable[[tf.Tensor, int], tf.Tensor] = decode_and_resize,
) -> Throughput:
    """Images per second ``decode`` turns in-memory ``contents`` into model-sized images on all cores.

    What ``decode_ceiling`` measures, on bytes already read: a notebook that compares decoders on
    the same files (or on files it made, such as pre-resized JPEGs) keeps them in memory once.
    """
    scale = settings().scale
    image_size, batch_size = image_size or scale.image_size, batch_size or scale.batch_size
    decoded = (
        tf.data.Dataset.from_tensor_slices(tf.constant(list(contents)))
        .repeat()
        .map(
            lambda image: decode(image, image_size),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=False,
        )
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    return throughput(decoded, batches, label=label, seconds=seconds)


def in_memory(paths: Sequence[Path | str], max_bytes: int = CEILING_BYTES) -> list[bytes]:
    """The files' bytes: all of them, or an evenly spaced sample of at most ``max_bytes``."""
    sizes = np.array([os.path.getsize(path) for path in paths])
    share = min(1.0, max_bytes / max(sizes.sum(), 1))
    picked = np.linspace(0, len(paths) - 1, max(1, round(share * len(paths)))).astype(int)
    return [Path(paths[i]).read_bytes() for i in picked]


def percent_of_ceiling(measured: Throughput, ceiling: Throughput) -> float:
    """A pipeline's throughput as a percentage of the full-decode ceiling."""
    return 100 * measured.images_per_second / ceiling.images_per_second


class _TimedSteps(keras.callbacks.Callback):
    """Times the training steps after ``warmup`` of them; ends the fit once they have taken ``seconds``."""

    def __init__(self, warmup: int, seconds: float) -> None:
        super().__init__()
        self.warmup, self.enough, self.steps, self.seconds = warmup, seconds, 0, 0.0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps += 1
        if self.steps == self.warmup:
            self.start = time.perf_counter()
        elif self.steps > self.warmup:
            self.seconds = time.perf_counter() - self.start
            self.model.stop_training = self.seconds >= self.enough


def training_throughput(
    model: keras.Model,
    data: tf.data.Dataset,
    batch_size: int,
    warmup: int = WARMUP_BATCHES,
    seconds: float = MIN_SECONDS,
) -> Throughput:
    """Images per second ``model.fit`` trains on from ``data``, in batches of ``batch_size``.

    The data repeats; the first ``warmup`` steps (tracing the step function, starting the input's
    threads) are not timed, the steps after them for at least ``seconds``.
    """
    timer = _TimedSteps(warmup, seconds)
    model.fit(
        data.repeat(),
        epochs=1,
        steps_per_epoch=UNTIL_STOPPED,
        shuffle=False,
        callbacks=[timer],
        verbose=0,
    )
    timed = timer.steps - warmup
    return Throughput(timed * batch_size / timer.seconds, timed, timed * batch_size, timer.seconds)


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
