"""Peak memory of a block of code, for the tests that check memory stays bounded."""
from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def peak_rss_mib() -> float:
    """The process's peak resident memory since it started, in MiB; it never goes down."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


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
