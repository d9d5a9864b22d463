"""The accelerator stand-in: its step time follows the published figure, and its trace shows the wait."""
from __future__ import annotations

import time

import numpy as np
import pytest
import tensorflow as tf

from helpers.accelerator import A100, fit_throughput, profile_stand_in
from helpers.config import settings
from helpers.profiling import DEVICE_TRACE


def test_step_time_scales_with_pixels_and_batch() -> None:
    assert A100.step_ms(224, 1209) == pytest.approx(1000)  # the published images/s at its own size
    assert A100.step_ms(112, 32) == pytest.approx(A100.step_ms(224, 32) / 4)
    assert "8.6 ms" in A100.describe(128, 32)


def batches(delay_s: float) -> tf.data.Dataset:
    """Endless batches of 32 images at 128 px, each ``delay_s`` late (sleeping, not computing)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (32, 128, 128, 3)).astype("float32")
    data = tf.data.Dataset.from_tensors((images, rng.integers(0, 5, 32))).repeat()
    if delay_s:
        data = data.map(lambda x, y: (tf.numpy_function(lambda v: time.sleep(delay_s) or v, [x], tf.float32), y))
    return data.map(lambda x, y: (tf.ensure_shape(x, (32, 128, 128, 3)), y)).prefetch(2)


def test_a_slow_pipeline_keeps_the_stand_in_waiting_and_a_fast_one_does_not(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_LOGS_DIR", str(tmp_path))
    slow = profile_stand_in(batches(0.1), settings("test_accelerator"), 5)
    assert slow.bound == "input-bound" and slow.wait_share > 0.5
    assert DEVICE_TRACE in slow.lanes
    fast = profile_stand_in(batches(0), settings("test_accelerator"), 5)
    assert fast.wait_share < 0.2


def test_fit_throughput_is_set_by_the_slower_of_the_input_and_the_device() -> None:
    run = settings("test_accelerator")  # quick scale: 128 px, batches of 32, as ``batches`` makes
    slow = fit_throughput(batches(0.1), 320, run, 5, seconds=0.5)  # a batch every 100 ms at best
    assert slow.images_per_second <= 32 / 0.1 and slow.batches >= 20 and slow.seconds >= 0.5
    fast = fit_throughput(batches(0), 320, run, 5, seconds=0.5)  # the device's 8.6 ms step sets it
    device_rate = 1000 * 32 / A100.step_ms(128, 32)
    assert fast.images_per_second <= 1.05 * device_rate  # without the device time it would run far faster
