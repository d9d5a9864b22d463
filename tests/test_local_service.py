"""A local tf.data service: worker processes serve and die, readers report what arrived, sizes as sent."""

from __future__ import annotations

import contextlib
import itertools
import socket
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf

from helpers import local_service, processes

service = tf.data.experimental.service


def test_sent_bytes_are_what_snappy_leaves():
    zeros = tf.zeros((8, 32, 32, 3), tf.uint8)
    noise = tf.constant(np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    assert local_service.sent_bytes(zeros) < zeros.numpy().nbytes / 10  # runs compress
    assert (
        noise.numpy().nbytes <= local_service.sent_bytes(noise) < 1.01 * noise.numpy().nbytes + 1024
    )


def test_epoch_counts():
    assert local_service.epoch_counts([0, 1, 1, 3, 3, 3], images=5) == {
        "images": 5,
        "read": 6,
        "missing": 2,
        "read_twice_or_more": 2,
    }


def test_a_reader_reads_in_the_background_and_keeps_its_error():
    reader = local_service.Reader(tf.data.Dataset.range(5).map(lambda n: (n, 2 * n)))
    reader.join(timeout=30)
    assert reader.arrived == [0, 1, 2, 3, 4] and reader.error is None
    assert local_service.counts_once_quiet({"a": reader}, quiet=0.1) == {"a": 5}

    broken = local_service.Reader(
        tf.data.Dataset.from_tensor_slices(["0", "1", "x"]).map(tf.strings.to_number)
    )
    broken.join(timeout=30)
    assert broken.arrived == [0, 1] and isinstance(broken.error, tf.errors.InvalidArgumentError)


def test_wait_until_gives_up_after_its_timeout():
    assert local_service.wait_until(lambda: True)
    assert not local_service.wait_until(lambda: False, timeout=0.1)


def test_reading_reads_until_the_block_ends():
    seen = []

    def endless():
        for n in itertools.count():
            seen.append(n)
            yield n

    with local_service.reading(endless()):
        assert local_service.wait_until(lambda: len(seen) > 10)
    stopped_at = len(seen)
    time.sleep(0.2)
    assert len(seen) == stopped_at  # the reader has ended with the block


def test_listening_on_finds_a_listening_socket():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert local_service.listening_on(port) == ["127.0.0.1"]
    assert local_service.listening_on(port) == []


def test_cpu_ms_per_image_counts_both_processes():
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        batches = tf.data.Dataset.from_tensors(tf.zeros((4, 2))).repeat()
        here, there = local_service.cpu_ms_per_image(batches, idle, count=5)
        assert here >= 0 and 0 <= there < 10
    finally:
        idle.kill()
        idle.wait()


def test_a_worker_process_serves_and_is_killed(tmp_path):
    with contextlib.ExitStack() as servers:
        dispatcher = service.DispatchServer(service.DispatcherConfig(port=0))
        servers.callback(dispatcher.stop)
        port = processes.free_port()
        [worker] = local_service.start_workers([dispatcher], [port], tmp_path, servers)
        assert (tmp_path / "worker.py").read_text() == local_service.WORKER_SCRIPT
        assert local_service.port_of(dispatcher) > 0 and local_service.listening_on(port)
        numbers = tf.data.Dataset.range(4).apply(
            service.distribute("parallel_epochs", dispatcher.target)
        )
        assert sorted(int(n) for n in numbers) == [0, 1, 2, 3]
        local_service.kill(worker)
        assert worker.returncode == -9
