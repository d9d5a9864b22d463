"""Passes over notebook 06's uint8 cache, then this process's peak resident MiB, printed last.

``python -m helpers.children.cache_passes PASSES`` with ``uint8_cached``'s arguments as JSON on
standard input, run by ``caches.cache_peak_mib``.
"""

from __future__ import annotations

import json
import sys

from helpers import caches, memory, pipelines


def main(passes: int) -> None:
    """Make ``passes`` passes over ``pipelines.uint8_cached(**arguments read from stdin)``; print the peak."""
    caches.pass_seconds(pipelines.uint8_cached(**json.load(sys.stdin)), passes=passes)
    print(memory.peak_rss_mib())


if __name__ == "__main__":
    main(int(sys.argv[1]))
