"""Peak memory: of a block, and of a child process, which does not inherit its parent's peak."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from helpers.config import ROOT
from helpers.memory import peak_memory, peak_rss_mib


def test_peak_memory_covers_what_the_block_held():
    with peak_memory() as memory:
        held = np.ones(200 * 2**20, np.uint8)  # 200 MiB, every page touched
    assert memory.peak_mib >= max(memory.before_mib, held.nbytes / 2**20)
    assert memory.raised_mib >= 0 and peak_rss_mib() >= memory.peak_mib


def test_a_child_process_reports_its_own_peak_not_its_parents():
    held = np.ones(512 * 2**20, np.uint8)  # the parent's peak: over 512 MiB
    child = subprocess.run(
        [sys.executable, "-c", "from helpers.memory import peak_rss_mib; print(peak_rss_mib())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # a bare Python holds a few tens of MiB
    assert peak_rss_mib() > held.nbytes / 2**20 > 4 * float(child.stdout)
