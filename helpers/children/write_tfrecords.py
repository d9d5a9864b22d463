"""``tfrecords.write_tfrecords`` in a process of its own, so that a test or a notebook can kill it midway.

``python -m helpers.children.write_tfrecords`` with the arguments as JSON on standard input (a
command line is too short for a long list of files), run by ``tfrecords.start_write_process``.
"""

from __future__ import annotations

import json
import sys

from helpers.tfrecords import write_tfrecords

if __name__ == "__main__":
    write_tfrecords(**json.load(sys.stdin), progress=False)
