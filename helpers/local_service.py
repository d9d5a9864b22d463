"""A tf.data service on this machine, for notebook 10: worker processes, and what watches them.

Notebook 10 starts the dispatchers itself (their configuration is part of its lesson) and
calls this module for the plumbing around them:

- ``start_workers`` runs each worker as a child process (``WORKER_SCRIPT``, through
  ``helpers.processes``, so a worker never outlives the notebook) and returns once they serve;
- ``listening_on`` asks the operating system where a server listens;
- ``cpu_ms_per_image`` counts the CPU time a pipeline costs this process and a worker's;
- ``sent_bytes`` is the size of an element after the compression ``distribute`` applies by default;
- ``Reader``, ``wait_until``, ``counts_once_quiet`` and ``epoch_counts`` read epochs in the background
  and count what arrived while a worker is killed; ``reading`` keeps a trainer busy while a worker is profiled.
"""

from __future__ import annotations

import collections
import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import tensorflow as tf
from tensorflow.python.data.experimental.ops import compression_ops

from helpers import processes

WORKER_SCRIPT = '''\
"""A tf.data service worker: python worker.py DISPATCHER_ADDRESS PORT"""
import sys

import tensorflow as tf

service = tf.data.experimental.service
dispatcher_address, port = sys.argv[1], int(sys.argv[2])
worker = service.WorkerServer(service.WorkerConfig(
    dispatcher_address=dispatcher_address,
    worker_address=f"127.0.0.1:{port}",  # how trainers reach it: the dispatcher hands this out
    port=port,
    heartbeat_interval_ms=500,  # tells the dispatcher twice a second that it is alive
))
print("ready", flush=True)  # what helpers.processes.start waits for
worker.join()  # serve until the process ends
'''


def port_of(dispatcher: tf.data.experimental.service.DispatchServer) -> int:
    """The port a dispatcher listens on, read from its target (``grpc://localhost:PORT``)."""
    return int(dispatcher.target.rsplit(":", 1)[1])


def start_worker(
    dispatcher: tf.data.experimental.service.DispatchServer,
    port: int,
    folder: Path,
    servers: contextlib.ExitStack,
) -> subprocess.Popen:
    """Start a worker process for ``dispatcher`` on ``port``; return once it has registered.

    The script is written to ``folder/worker.py``, the worker's output goes to
    ``folder/worker-PORT.log``, and ``servers.close()`` stops it.
    """
    script = Path(folder) / "worker.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    if not script.exists() or script.read_text() != WORKER_SCRIPT:
        script.write_text(WORKER_SCRIPT)
    address = dispatcher.target.split("://")[1]
    worker = processes.start(script, address, port, log=Path(folder) / f"worker-{port}.log")
    servers.callback(processes.stop, worker)
    return worker


def start_workers(
    dispatchers: Sequence[tf.data.experimental.service.DispatchServer],
    ports: Sequence[int],
    folder: Path,
    servers: contextlib.ExitStack,
) -> list[subprocess.Popen]:
    """``start_worker`` for each dispatcher and port, at the same time (their TensorFlow imports overlap)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor() as pool:
        return list(
            pool.map(
                lambda dispatcher, port: start_worker(dispatcher, port, folder, servers),
                dispatchers,
                ports,
            )
        )


def kill(worker: subprocess.Popen) -> None:
    """End a worker with SIGKILL, as a machine failure would: no chance to say goodbye."""
    worker.send_signal(signal.SIGKILL)
    worker.wait()


def listening_on(port: int) -> list[str]:
    """The local addresses on which a TCP port is listening, from the operating system's table."""
    try:
        connections = psutil.net_connections("tcp")
    except psutil.AccessDenied:  # macOS lists other processes' sockets to root only
        return ["unknown: only root may list sockets on this system"]
    return sorted(
        {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    )


def cpu_ms_per_image(
    batches: Iterable, worker: subprocess.Popen, count: int, warmup: int = 3
) -> np.ndarray:
    """CPU milliseconds per image delivered: [in this process (all its threads), in ``worker``'s process].

    ``warmup`` batches are read first, then ``count`` batches are counted.
    """
    worker_process = psutil.Process(worker.pid)

    def cpu_seconds() -> np.ndarray:
        times = worker_process.cpu_times()
        return np.array([time.process_time(), times.user + times.system])

    stream = iter(batches)
    for _ in range(warmup):
        next(stream)
    before, images = cpu_seconds(), 0
    for _ in range(count):
        images += len(tf.nest.flatten(next(stream))[0])
    return 1000 * (cpu_seconds() - before) / images


def sent_bytes(element: object) -> int:
    """Bytes of ``element`` as a worker sends it by default: compressed as ``distribute(compression="AUTO")`` does.

    In TensorFlow's open-source build "AUTO" appends the same ``compress`` map to the pipeline
    that ``compression="SNAPPY"`` does (Snappy, on the worker; the trainer uncompresses).
    """
    compressed = compression_ops.compress(tf.nest.flatten(element))
    return len(tf.io.serialize_tensor(compressed).numpy())


class Reader(threading.Thread):
    """Reads one pass of a dataset in the background, appending each element's first value to ``arrived``.

    ``step_seconds`` is slept after each element, a trainer's step: the workers run ahead. An
    error ends the pass and is kept in ``error`` (a thread must not fail silently).
    """

    def __init__(self, dataset: tf.data.Dataset, step_seconds: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.dataset, self.step_seconds = dataset, step_seconds
        self.arrived: list[int] = []
        self.error: tf.errors.OpError | None = None
        self.start()

    def run(self) -> None:
        try:
            for element in self.dataset:
                self.arrived.append(int(tf.nest.flatten(element)[0]))
                time.sleep(self.step_seconds)
        except tf.errors.OpError as error:
            self.error = error


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> bool:
    """Poll ``condition`` every 10 ms until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def counts_once_quiet(
    readers: Mapping[str, Reader], quiet: float = 1.0, timeout: float = 60
) -> dict[str, int]:
    """Wait until no reader has received anything for ``quiet`` seconds (at most ``timeout``); return the counts."""
    deadline, before = time.monotonic() + timeout, None
    while True:
        now = {name: len(reader.arrived) for name, reader in readers.items()}
        if now == before or time.monotonic() > deadline:
            return now
        before = now
        time.sleep(quiet)


@contextlib.contextmanager
def reading(batches: Iterable) -> Iterator[None]:
    """Read ``batches`` in a background thread for the length of the block: a trainer at work."""
    done = threading.Event()

    def read() -> None:
        for _ in batches:
            if done.is_set():
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield
    finally:
        done.set()
        reader.join(timeout=60)


def epoch_counts(arrived: Sequence[int], images: int) -> dict[str, int]:
    """What one epoch of ``images`` indices delivered: how many read, missing, and read twice or more."""
    copies = collections.Counter(arrived)
    return {
        "images": images,
        "read": len(arrived),
        "missing": images - len(copies),
        "read_twice_or_more": sum(n > 1 for n in copies.values()),
    }
