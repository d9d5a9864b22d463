"""Local servers as child processes: a free port, a start that waits until ready, a stop that always ends.

``start(script, *args, log=...)`` runs a Python script with this interpreter in a new
process and returns once the script prints a line ``ready``; everything it prints goes
to ``log``. The child is tied to this process through its standard input: when this
process closes that pipe (``stop``) or dies (a crashed or restarted notebook kernel),
the child exits, so no server outlives the notebook that started it.

Only the standard library here: this file is also the launcher that runs the script.
"""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

READY = "ready"  # the line a script prints once it serves


def free_port() -> int:
    """A TCP port free on every interface of this machine now (servers such as tf.data's bind them all)."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def start(
    script: Path | str, *args: object, log: Path | str, timeout: float = 120
) -> subprocess.Popen:
    """Run ``script`` in a new Python process; return it once it prints a line ``ready``.

    Raises ``RuntimeError`` with the end of ``log`` if the script exits first or stays
    silent for ``timeout`` seconds; the child is stopped then.
    """
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:  # the child keeps its own handle
        child = subprocess.Popen(
            [sys.executable, "-u", __file__, str(script), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while READY not in log.read_text(errors="replace").splitlines():
        exited = child.poll() is not None
        if exited or time.monotonic() > deadline:
            stop(child)
            why = (
                f"exited with code {child.returncode}"
                if exited
                else f"was not ready within {timeout:g} s"
            )
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"{Path(script).name} {why}; its last words:\n{tail}")
        time.sleep(0.1)
    return child


def stop(child: subprocess.Popen, timeout: float = 10) -> int:
    """End a child started by ``start``: close its standard input, kill it if it lingers; return its exit code."""
    if child.stdin and not child.stdin.closed:
        child.stdin.close()  # the child's lifeline: it exits at once
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


@contextmanager
def running(
    script: Path | str, *args: object, log: Path | str, timeout: float = 120
) -> Iterator[subprocess.Popen]:
    """``start`` the script for the block; ``stop`` it afterwards, also when the block fails."""
    child = start(script, *args, log=log, timeout=timeout)
    try:
        yield child
    finally:
        stop(child)


def _exit_when_parent_lets_go() -> None:
    # Raw reads: a daemon thread blocked in sys.stdin would hold its lock and abort the interpreter's exit.
    while os.read(sys.stdin.fileno(), 1024):
        pass  # nothing is ever written; end of file means the parent closed the pipe or died
    os._exit(0)


if __name__ == "__main__":  # the launcher: python processes.py SCRIPT [ARGS...]
    threading.Thread(target=_exit_when_parent_lets_go, daemon=True).start()
    sys.argv = sys.argv[1:]
    # as `python SCRIPT` would: not this folder
    sys.path[0] = str(Path(sys.argv[0]).resolve().parent)
    runpy.run_path(sys.argv[0], run_name="__main__")
