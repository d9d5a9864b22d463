"""Peak resident memory: of a block of code, or of a whole process.

Operating systems report a process's peak resident memory since it started, and it never goes
down. So a block's own peak shows only where it tops every earlier one: the tests that check
memory stays bounded measure in a new process, and so does notebook 06, which weighs a cache in
RAM without counting what its own kernel holds (``helpers.caches.cache_growth``).
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def peak_rss_mib() -> float:
    """The process's peak resident memory since its program started, in MiB; it never goes down.

    On Linux it reads ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` there also keeps the peak
    of the process it was forked from, so a child of a big Jupyter kernel would report the kernel's.
    """
    status = Path("/proc/self/status")
    if status.exists():
        peak_kib = next(
            line.split()[1] for line in status.read_text().splitlines() if line.startswith("VmHWM:")
        )
        return int(peak_kib) / 2**10
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # bytes on macOS, KiB elsewhere
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@dataclass
class PeakMemory:
    """The process's peak memory before a block and at its end, in MiB."""

    before_mib: float
    peak_mib: float = float("nan")

    @property
    def raised_mib(self) -> float:
        """How far the block raised the process's peak: 0 if it stayed below an earlier peak."""
        return self.peak_mib - self.before_mib

    def __str__(self) -> str:
        return f"peak {self.peak_mib:,.0f} MiB (+{self.raised_mib:,.0f} MiB during the block)"


@contextmanager
def peak_memory() -> Iterator[PeakMemory]:
    """Measure how much a block raises the process's peak memory.

    Operating systems report only the peak since the process started (the same way on
    Linux and macOS), so a block's own peak is visible only where it tops every earlier one.
    """
    memory = PeakMemory(before_mib=peak_rss_mib())
    try:
        yield memory
    finally:
        memory.peak_mib = peak_rss_mib()
