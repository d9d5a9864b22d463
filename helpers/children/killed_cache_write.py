"""A cache writer killed mid-pass: it fills a quarter of ``counting_cache``, then SIGKILLs itself.

``python -m helpers.children.killed_cache_write PREFIX ELEMENTS``, run by ``caches.kill_mid_write``.
"""

from __future__ import annotations

import os
import signal
import sys

from helpers.caches import counting_cache


def main(prefix: str, elements: int) -> None:
    """Write a quarter of the first pass through ``counting_cache(prefix, elements)``, then die."""
    iterator = iter(counting_cache(prefix, elements))
    for _ in range(elements // 4):
        next(iterator)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-pass, as a killed job dies: nothing cleans up


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
