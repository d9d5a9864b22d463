"""Passes over notebook 06's uint8 cache, reading this process's peak resident MiB as the cache fills.

``python -m helpers.children.cache_passes PASSES`` with ``uint8_cached``'s arguments as JSON on
standard input, run by ``caches.cache_growth``. Prints one JSON line: the images delivered (and
so cached) after each batch of the first pass, the peak read then, and the peak after the last pass.
"""

from __future__ import annotations

import itertools
import json
import sys

from helpers import caches, memory, pipelines


def main(passes: int) -> None:
    """Make ``passes`` passes over ``pipelines.uint8_cached(**arguments read from stdin)``, reading the peak."""
    dataset = pipelines.uint8_cached(**json.load(sys.stdin))
    sizes, peaks = [], []
    for images, _ in dataset:  # the first pass fills the cache
        sizes.append(len(images))
        peaks.append(memory.peak_rss_mib())
    caches.pass_seconds(dataset, passes=passes - 1)
    images = list(itertools.accumulate(sizes))
    print(json.dumps({"images": images, "peak_mib": peaks, "final_mib": memory.peak_rss_mib()}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
