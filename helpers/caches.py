"""Dataset caches: timing their passes, simulating a killed writer, and clearing what it leaves.

``pass_seconds`` times whole passes over a dataset (the first pass through a cache writes
it, the next ones read it). While a pass writes a file cache, TensorFlow holds
``<prefix>_<n>.lockfile`` beside partial ``<prefix>_<n>.data-*.tempstate*`` files, and renames
them into ``<prefix>.index`` and ``<prefix>.data-*`` only when the pass completes. A run killed
midway leaves the lockfile, and the next run's iterator stops with ``AlreadyExistsError``. The lockfile holds only its
creation time, so nothing can tell a dead writer from a live one: clear a cache before a
run starts, when you know no other process is writing it. ``kill_mid_write`` makes such a
run on purpose (notebook 06 shows what it leaves). ``cache_growth`` weighs a cache in RAM as it
fills, in a process of its own.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import children
from helpers.config import display_path


@dataclass(frozen=True)
class StaleCache:
    """The files a killed cache write left at a prefix."""

    prefix: Path
    lockfiles: tuple[Path, ...]
    partial_files: tuple[Path, ...]

    def __bool__(self) -> bool:
        return bool(self.lockfiles or self.partial_files)

    def __str__(self) -> str:
        return (
            f"{display_path(self.prefix)}: {len(self.lockfiles)} lockfile(s) and {len(self.partial_files)} "
            "partial file(s) left by a run that did not finish"
        )


def find_stale_cache(prefix: Path | str) -> StaleCache:
    """The lockfiles and partial files at ``prefix``; a complete cache (``.index``, ``.data-*``) is not listed."""
    prefix = Path(prefix)
    # Complete caches are "<prefix>.index" and "<prefix>.data-*"; a writer's files are "<prefix>_<n>.*".
    leftovers = [
        path
        for path in prefix.parent.glob(f"{prefix.name}_*")
        if path.name.split(".", 1)[0].removeprefix(f"{prefix.name}_").isdigit()
    ]
    return StaleCache(
        prefix,
        tuple(sorted(p for p in leftovers if p.suffix == ".lockfile")),
        tuple(sorted(p for p in leftovers if p.suffix != ".lockfile")),
    )


def remove_stale_cache(prefix: Path | str) -> StaleCache:
    """Delete what a killed run left at ``prefix`` (call it before building the pipeline); keep a complete cache.

    Returns what was removed (falsy if nothing was). Only call it when no other process is
    writing this cache right now: its lockfile cannot say whether its writer is still alive.
    """
    stale = find_stale_cache(prefix)
    for path in (*stale.lockfiles, *stale.partial_files):
        path.unlink(missing_ok=True)
    return stale


def pass_seconds(dataset: tf.data.Dataset, passes: int = 3) -> list[float]:
    """Wall-clock seconds of each of ``passes`` full passes over ``dataset``, doing nothing with its elements."""
    seconds = []
    for _ in range(passes):
        start = time.perf_counter()
        for _ in dataset:
            pass
        seconds.append(time.perf_counter() - start)
    return seconds


def counting_cache(prefix: Path | str, elements: int = 1000) -> tf.data.Dataset:
    """A small stand-in pipeline cached at ``prefix``: ``elements`` vectors of 64 int64 values."""
    return tf.data.Dataset.range(elements).map(lambda i: tf.fill([64], i)).cache(str(prefix))


def kill_mid_write(prefix: Path | str, elements: int = 1000) -> int:
    """Run ``counting_cache(prefix)`` in a new Python process that kills itself with SIGKILL a
    quarter of the way through its first pass; return the child's exit code (-9 on POSIX)."""
    child = subprocess.run(
        children.command("killed_cache_write", prefix, elements),
        capture_output=True,
        env=children.environment(),
    )
    return child.returncode


@dataclass(frozen=True)
class CacheGrowth:
    """A process's peak resident MiB as its uint8 cache filled, batch by batch, then after its last pass.

    ``peak_mib[i]`` was read once the first pass had delivered, and so cached, ``images[i]``
    images of ``image_size`` pixels square: the peak a dataset of that many images would reach.
    """

    images: tuple[int, ...]
    peak_mib: tuple[float, ...]
    final_mib: float
    image_size: int

    @property
    def decoded_mib(self) -> np.ndarray:
        """The decoded pixels cached at each reading, in MiB (uint8: a byte per value)."""
        return np.array(self.images) * self.image_size**2 * 3 / 2**20

    @property
    def growth(self) -> float:
        """MiB the peak rose per MiB of decoded pixels cached: the median over the batches of the
        first pass, the first quarter left out (start-up: thread pools, first buffers). A median, so
        that a one-off jump of the allocator in one batch does not set it; the peaks show any."""
        start = len(self.images) // 4
        rises = np.diff(self.peak_mib[start:]) / np.diff(self.decoded_mib[start:])
        return float(np.median(rises))

    def peak_after(self, images: int) -> float:
        """The peak read at the first batch that brought the cache to ``images`` images or more."""
        return next(p for n, p in zip(self.images, self.peak_mib) if n >= images)

    def quarters(self) -> list[int]:
        """A quarter, a half, three quarters and all of the images of a pass."""
        return [self.images[-1] * q // 4 for q in (1, 2, 3, 4)]

    def __str__(self) -> str:
        return (
            "".join(f"{self.peak_after(n):7,.0f}" for n in self.quarters())
            + f"  {self.final_mib:7,.0f}  {self.growth:7.2f}"
        )


def growth_table(growths: Mapping[str, CacheGrowth]) -> str:
    """The peaks of each kind of cache at a quarter, half, three quarters and all of a first pass,
    after the second pass, and the growth per MiB of decoded pixels cached: a line per kind."""
    title = "peak MiB after images"
    width = max(len(title), *map(len, growths)) + 2
    quarters = next(iter(growths.values())).quarters()
    lines = [f"{title:<{width}}" + "".join(f"{n:>7,}" for n in quarters) + "   pass 2  MiB/MiB"]
    return "\n".join(lines + [f"{kind:<{width}}{growth}" for kind, growth in growths.items()])


def cache_growth(
    paths: Sequence[str],
    labels: Sequence[int],
    image_size: int,
    batch_size: int,
    cache: Path | str = "",
    passes: int = 2,
    environment: Mapping[str, str] | None = None,
) -> CacheGrowth:
    """Peak resident MiB of a new Python process as ``pipelines.uint8_cached`` fills its cache, then
    after ``passes`` passes.

    ``cache`` as in ``uint8_cached``: ``""`` keeps the cache in the process's memory, a file prefix
    writes it to disk (use a new prefix, or the first pass only reads). A process of its own, so
    nothing the caller holds counts; it includes the Python and TensorFlow every such process
    loads. ``environment`` adds variables to the child's: ``{"MALLOC_MMAP_THRESHOLD_": "65536"}``
    fixes the size above which glibc's malloc (Linux) gives a block pages of its own and returns
    them when it is freed; by default it raises that size as big blocks are freed, and a decoder's
    freed buffers then leave holes between the cached images. Notebook 06 measures both kinds of
    cache with it.
    """
    arguments = {
        "paths": [str(path) for path in paths],
        "labels": [int(label) for label in labels],
        "image_size": image_size,
        "batch_size": batch_size,
        "cache": str(cache),
    }
    child = subprocess.run(
        children.command("cache_passes", passes),
        input=json.dumps(arguments),
        capture_output=True,
        text=True,
        check=True,
        env={**children.environment(), **(environment or {})},
    )
    readings = json.loads(child.stdout.strip().splitlines()[-1])
    return CacheGrowth(
        tuple(readings["images"]), tuple(readings["peak_mib"]), readings["final_mib"], image_size
    )
