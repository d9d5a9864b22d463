"""Programs the helpers run in a child Python, each a module run with ``python -m``.

A child of its own is the point of each: a process killed mid-write, or one whose peak memory
holds nothing its caller has loaded. ``command`` and ``environment`` start one from anywhere.
"""

from __future__ import annotations

import os
import sys

from helpers.config import ROOT


def command(program: str, *args: object) -> list[str]:
    """The command line that runs ``helpers.children.<program>`` with ``args`` in a new Python."""
    return [sys.executable, "-m", f"{__name__}.{program}", *map(str, args)]


def environment() -> dict[str, str]:
    """This process's environment, with this course's ``helpers`` importable first and TensorFlow's C++ logs off."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}
