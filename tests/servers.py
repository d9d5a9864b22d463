"""Local servers for tests: a server run for a block and always stopped."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Never via a proxy: these servers are on this machine.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextmanager
def serve(
    command: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run a server for the block, once ``ready_url`` answers; stop it afterwards, also on failure."""
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for(ready_url, server, log)
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_for(url: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Return once ``url`` answers; fail with the server's last words if it never does."""
    deadline = time.monotonic() + timeout
    while server.poll() is None and time.monotonic() < deadline:
        try:
            OPENER.open(url, timeout=5).close()
            return
        except OSError:  # not listening yet
            time.sleep(0.3)
    pytest.fail(
        f"{url} did not answer; the server said:\n{log.read_text(errors='replace')[-2000:]}"
    )
