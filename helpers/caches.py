"""Dataset caches: timing their passes, simulating a killed writer, and clearing what it leaves.

``pass_seconds`` times whole passes over a dataset (the first pass through a cache writes
it, the next ones read it). While a pass writes a file cache, TensorFlow holds
``<prefix>_<n>.lockfile`` beside partial ``<prefix>_<n>.data-*.tempstate*`` files, and renames
them into ``<prefix>.index`` and ``<prefix>.data-*`` only when the pass completes. A run killed midway leaves the lockfile,
and the next run's iterator stops with ``AlreadyExistsError``. The lockfile holds only its
creation time, so nothing can tell a dead writer from a live one: clear a cache before a
run starts, when you know no other process is writing it. ``kill_mid_write`` makes such a
run on purpose (notebook 06 shows what it leaves). ``cache_peak_mib`` weighs a cache in RAM, in a
process of its own.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from helpers.config import shown

# A writer killed mid-pass: a child Python fills a quarter of a file cache, then SIGKILLs itself.
_KILLED_WRITE = """
import os, signal, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, sys.argv[2])
from helpers.caches import counting_cache
iterator = iter(counting_cache(sys.argv[1], int(sys.argv[3])))
for _ in range(int(sys.argv[3]) // 4):
    next(iterator)
os.kill(os.getpid(), signal.SIGKILL)  # mid-pass, as a killed job dies: nothing cleans up
"""

# Passes over notebook 06's uint8 cache in a child Python, which then prints its peak resident MiB.
_CACHE_PASSES = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, sys.argv[1])
from helpers import caches, memory, pipelines
arguments = json.load(sys.stdin)
caches.pass_seconds(pipelines.uint8_cached(**arguments), passes=int(sys.argv[2]))
print(memory.peak_rss_mib())
"""


@dataclass(frozen=True)
class StaleCache:
    """The files a killed cache write left at a prefix."""

    prefix: Path
    lockfiles: tuple[Path, ...]
    partial_files: tuple[Path, ...]

    def __bool__(self) -> bool:
        return bool(self.lockfiles or self.partial_files)

    def __str__(self) -> str:
        return (f"{shown(self.prefix)}: {len(self.lockfiles)} lockfile(s) and {len(self.partial_files)} "
                "partial file(s) left by a run that did not finish")


def find_stale_cache(prefix: Path | str) -> StaleCache:
    """The lockfiles and partial files at ``prefix``; a complete cache (``.index``, ``.data-*``) is not listed."""
    prefix = Path(prefix)
    # Complete caches are "<prefix>.index" and "<prefix>.data-*"; a writer's files are "<prefix>_<n>.*".
    leftovers = [path for path in prefix.parent.glob(f"{prefix.name}_*") if path.name.split(".", 1)[0]
                 .removeprefix(f"{prefix.name}_").isdigit()]
    return StaleCache(prefix, tuple(sorted(p for p in leftovers if p.suffix == ".lockfile")),
                      tuple(sorted(p for p in leftovers if p.suffix != ".lockfile")))


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
    package_root = str(Path(__file__).resolve().parents[1])
    child = subprocess.run([sys.executable, "-c", _KILLED_WRITE, str(prefix), package_root, str(elements)],
                           capture_output=True)
    return child.returncode


def cache_peak_mib(paths: Sequence[str], labels: Sequence[int], image_size: int, batch_size: int,
                   cache: Path | str = "", passes: int = 2) -> float:
    """Peak resident MiB of a new Python process making ``passes`` passes over ``pipelines.uint8_cached``.

    ``cache`` as in ``uint8_cached``: ``""`` keeps the cache in the process's memory, a file prefix
    writes it to disk (use a new prefix, or the first pass only reads). A process of its own, so
    nothing the caller holds counts; it includes the Python and TensorFlow every such process
    loads. Notebook 06 measures both kinds of cache with it.
    """
    arguments = {"paths": [str(path) for path in paths], "labels": [int(label) for label in labels],
                 "image_size": image_size, "batch_size": batch_size, "cache": str(cache)}
    package_root = str(Path(__file__).resolve().parents[1])
    child = subprocess.run([sys.executable, "-c", _CACHE_PASSES, package_root, str(passes)],
                           input=json.dumps(arguments), capture_output=True, text=True, check=True)
    return float(child.stdout.split()[-1])
