"""The accelerator stand-in: its step time follows the published figure, and its trace shows the wait."""

from __future__ import annotations

import time

import numpy as np
import pytest
import tensorflow as tf
from IPython.lib.pretty import pretty

from helpers.accelerator import (
    A100,
    HOST_STEPS,
    TPU_V3_8,
    StandInSummary,
    fit_throughput,
    predicted_wait_share,
    profile_host,
    profile_stand_in,
)
from helpers.config import settings
from helpers.measure import Throughput
from helpers.profiling import DEVICE_TRACE, Step


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
        data = data.map(
            lambda x, y: (tf.numpy_function(lambda v: time.sleep(delay_s) or v, [x], tf.float32), y)
        )
    return data.map(lambda x, y: (tf.ensure_shape(x, (32, 128, 128, 3)), y)).prefetch(2)


def test_a_slow_pipeline_keeps_the_stand_in_waiting_and_a_fast_one_does_not(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("COURSE_LOGS_DIR", str(tmp_path))
    slow = profile_stand_in(batches(0.1), settings("test_accelerator"), 5)
    assert slow.bound == "input-bound" and slow.wait_share > 0.5
    assert DEVICE_TRACE in slow.lanes
    # at most 320 images/s against 8.6 ms a batch of 32 (more on a busy CPU): over 75 % predicted
    assert slow.images_per_second <= 330 and slow.predicted_wait_share > 0.75
    assert "Predicted from the pipeline's" in str(slow)
    # the rate the notebook measured already is the prediction's: not measured again
    measured = Throughput(images_per_second=32_000.0, batches=100, images=3200, seconds=0.1)
    fast = profile_stand_in(batches(0), settings("test_accelerator"), 5, alone=measured)
    assert fast.wait_share < 0.2
    assert fast.images_per_second == 32_000 and fast.predicted_wait_share == 0


def test_the_tpu_figure_is_the_mlperf_runs_epochs_over_their_seconds() -> None:
    # ImageNet's images, eval_stop to eval_start
    four_epochs, seconds = 4 * 1_281_167, 1541662052.14 - 1541661364.46
    assert TPU_V3_8.images_per_second == pytest.approx(four_epochs / seconds, rel=0.005)
    assert TPU_V3_8.step_ms(128, 1024) == pytest.approx(1000 * 1024 * (128 / 224) ** 2 / 7450)


def test_the_host_loop_waits_for_a_slow_pipeline_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_LOGS_DIR", str(tmp_path))
    quick = settings("test_accelerator")
    slow = profile_host(batches(0.1), quick, "slow", A100, 32)
    assert len(slow.steps) >= HOST_STEPS[1] - HOST_STEPS[0] + 1 >= 20
    assert slow.steps[-1].start_ms + slow.steps[-1].time_ms >= 1999  # two seconds, within 1 ms
    assert slow.bound == "input-bound" and slow.wait_share > 0.5
    assert DEVICE_TRACE in slow.lanes
    assert profile_host(batches(0), quick, "fast", A100, 32).wait_share < 0.2


def test_fit_throughput_is_set_by_the_slower_of_the_input_and_the_device() -> None:
    quick = settings("test_accelerator")  # quick scale: 128 px, batches of 32, as ``batches`` makes
    slow = fit_throughput(batches(0.1), 320, quick, 5, seconds=0.5)  # a batch every 100 ms at best
    assert slow.images_per_second <= 32 / 0.1 and slow.batches >= 20 and slow.seconds >= 0.5
    fast = fit_throughput(
        batches(0), 320, quick, 5, seconds=0.5
    )  # the device's 8.6 ms step sets it
    device_rate = 1000 * 32 / A100.step_ms(128, 32)
    # without the device time it would run far faster
    assert fast.images_per_second <= 1.05 * device_rate


def test_the_wait_follows_from_the_pipelines_rate() -> None:
    # a device busy 16 ms a batch of 32 asks for 2,000 images/s
    assert predicted_wait_share(1000, 16, 32) == pytest.approx(0.5)
    assert predicted_wait_share(2000, 16, 32) == 0
    assert predicted_wait_share(4000, 16, 32) == 0  # a faster pipeline cannot make it wait less


def stand_in(waits_ms: list[float], step_ms: float, images_per_second: float) -> StandInSummary:
    """A stand-in's summary of steps of ``step_ms`` that waited ``waits_ms``: 10 ms of device time
    a batch of 32, 2 ms of them the model's own step."""
    steps = tuple(
        Step(n, n * step_ms, step_ms, ((n * step_ms, n * step_ms + wait),))
        for n, wait in enumerate(waits_ms)
    )
    return StandInSummary("made/up", steps, (), 0.0, {}, 10.0, 2.0, 32, images_per_second)


def test_the_stand_in_shows_its_prediction_and_says_why_they_part_where_the_trace_tells() -> None:
    # 1,600 images/s predicts half of each 20 ms step waiting: the trace agrees
    agrees = stand_in([10.0] * 20, 20.0, 1600)
    assert agrees.predicted_wait_share == pytest.approx(0.5)
    assert agrees.prediction.endswith("50% waiting; traced: 50% (median step 50%)")
    assert pretty(agrees) == str(agrees)  # as a notebook shows it: the summary and the prediction
    # a few slow steps: the mean parts, the median agrees
    transient = stand_in([10.0] * 16 + [20.0] * 4, 20.0, 1600)  # mean 60 %, median 50 %
    assert "transient" in transient.prediction
    # the steps' own work took 20 ms, not 10: they asked less often and waited less
    slower_steps = stand_in([10.0] * 20, 30.0, 1600)
    assert "not 10.0" in slower_steps.prediction
    # under fit() the pipeline fed 32 images each 40 ms, 800 images/s, not the 1,600 measured alone
    starved_under_fit = stand_in([30.0] * 20, 40.0, 1600)
    assert "800 images/s" in starved_under_fit.prediction
    assert "host work" in starved_under_fit.prediction
    # fed faster under fit() than measured alone: said, with no cause the trace cannot tell
    fed_faster = stand_in([5.0] * 20, 15.0, 1600).prediction
    assert "2,133 images/s, not 1,600" in fed_faster and "host work" not in fed_faster
