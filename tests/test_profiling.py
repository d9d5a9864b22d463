"""The profiling helpers tell a step that waits for input from one that computes."""

from __future__ import annotations

import gzip
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from servers import OPENER, serve
from xprof.convert import raw_to_tool_data

from helpers.config import settings
from helpers.measure import MIN_SECONDS, UNTIL_STOPPED
from helpers.plots import timeline
from helpers.processes import free_port
from helpers.profiling import (
    Step,
    StepProfiler,
    StepSummary,
    _EndWhenTraced,
    profile_fit,
    repeat_for,
    summarize,
)

NOTEBOOK = "test_profiling"
STEPS = (3, 6)  # a short window after warm-up keeps the file fast
SHORT = 0  # seconds: these windows end at their last step (the two-second rule has its own tests)


@pytest.fixture(autouse=True)
def own_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's captures in a folder of its own, so TensorBoard lists only that test's."""
    monkeypatch.setenv("COURSE_LOGS_DIR", str(tmp_path / "logs"))


def one_batch(side: int) -> tf.data.Dataset:
    """The same random batch of 32 images, forever."""
    rng = np.random.default_rng(0)
    images = rng.random((32, side, side, 3), dtype=np.float32)
    return tf.data.Dataset.from_tensors((images, rng.integers(0, 5, 32))).repeat()


def sleepy(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """A map function that makes every batch late by 50 ms."""
    tf.py_function(lambda: time.sleep(0.05), [], [])
    return images, labels


def starved() -> tf.data.Dataset:
    return one_batch(32).map(sleepy).prefetch(1)


def model(side: int, *layers: keras.layers.Layer) -> keras.Model:
    net = keras.Sequential(
        [keras.Input((side, side, 3)), *layers, keras.layers.Flatten(), keras.layers.Dense(5)]
    )
    net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return net


def fit(net: keras.Model, data, run: str) -> Path:
    profiler = StepProfiler(NOTEBOOK, run, STEPS, SHORT)
    net.fit(
        data, epochs=1, steps_per_epoch=STEPS[1] + 2, shuffle=False, callbacks=[profiler], verbose=0
    )
    return profiler.logdir


def custom_loop(net: keras.Model, data: tf.data.Dataset, run: str) -> Path:
    @tf.function
    def train_step(images: tf.Tensor, labels: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            loss = net.loss(labels, net(images, training=True))
        net.optimizer.apply_gradients(
            zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables)
        )

    profiler = StepProfiler(NOTEBOOK, run, STEPS, SHORT)
    for images, labels in profiler.trace(data.take(STEPS[1] + 2)):
        train_step(images, labels)
    return profiler.logdir


@pytest.fixture
def starved_run() -> Path:
    return fit(model(32), starved(), "starved")


@pytest.mark.parametrize("loop", [fit, custom_loop])
def test_starved_pipeline_is_input_bound(loop, tmp_path: Path) -> None:
    summary = summarize(loop(model(32), starved(), "starved"))
    print(summary)
    assert [step.number for step in summary.steps] == list(range(STEPS[0], STEPS[1] + 1))
    assert summary.bound == "input-bound"
    assert all(step.wait_share > 0.5 for step in summary.steps)
    assert "Iterator::Map" in [stage.name for stage in summary.stages]
    assert "py_function" in summary.verdict and not summary.python_generator
    assert summary.run == f"{NOTEBOOK}/starved" and str(tmp_path) not in str(summary)


def test_cached_pipeline_under_a_heavier_model_is_compute_bound() -> None:
    data = one_batch(64).cache().prefetch(tf.data.AUTOTUNE)
    convs = [keras.layers.Conv2D(16, 3, padding="same", activation="relu") for _ in range(2)]
    summary = summarize(fit(model(64, *convs), data, "cached"))
    print(summary)
    assert summary.bound == "compute-bound"
    assert summary.wait_share < 0.1


def test_image_data_generator_waits_in_python(quick_dataset: Path) -> None:
    batches = tf.keras.preprocessing.image.ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        str(quick_dataset), target_size=(64, 64), batch_size=16, class_mode="sparse"
    )
    summary = summarize(fit(model(64), batches, "image_data_generator"))
    print(summary)
    assert summary.bound == "input-bound" and summary.wait_share > 0.5
    assert summary.python_generator and "Python generator" in summary.verdict
    assert summary.python_ms / len(summary.steps) > summary.wait_ms / 2


def test_timeline_shows_waiting_and_the_pipeline(starved_run: Path) -> None:
    figure = timeline(summarize(starved_run), steps=2)
    ax = figure.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == [
        "training step",
        "input pipeline",
    ]
    assert "input-bound" in ax.get_title()


def test_capture_loads_in_xprof_converters(starved_run: Path) -> None:
    xplanes = [str(path) for path in starved_run.glob("plugins/profile/*/*.xplane.pb")]
    overview, _ = raw_to_tool_data.xspace_to_tool_data(xplanes, "overview_page", {})
    trace, _ = raw_to_tool_data.xspace_to_tool_data(xplanes, "trace_viewer", {})
    assert json.loads(trace)["traceEvents"]
    # The step markers let xprof measure steps itself, and it agrees.
    assert b"input-bound" in overview


@pytest.fixture
def tensorboard(starved_run: Path, tmp_path: Path) -> Iterator[str]:
    """A TensorBoard over the notebook's logs; yields its URL and is always stopped."""
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(starved_run.parent),
        "--host",
        "127.0.0.1",
        "--port",
        url.rsplit(":", 1)[1],
    ]
    with serve(command, url, tmp_path / "tensorboard.log"):
        yield url


def profile_runs(url: str, timeout: float = 60) -> list[str]:
    """The profile plugin's run list, once TensorBoard answers with one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with OPENER.open(f"{url}/data/plugin/profile/runs", timeout=5) as response:
                body = response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
            if runs := json.loads(body):
                return runs
        except OSError:  # not listening yet
            pass
        time.sleep(0.5)
    raise TimeoutError("TensorBoard listed no profile runs")


def test_tensorboard_lists_the_capture(starved_run: Path, tensorboard: str) -> None:
    capture = next(starved_run.glob("plugins/profile/*"))
    assert profile_runs(tensorboard) == [f"starved/{capture.name}"]


def assert_steady_window(summary: StepSummary) -> None:
    """The scale's steps from its first, for at least its steps and two seconds, and no longer."""
    first, last = settings().scale.profile_steps
    numbers = [step.number for step in summary.steps]
    assert numbers == list(range(first, first + len(numbers))) and numbers[-1] >= last
    ends = [step.start_ms + step.time_ms for step in summary.steps]  # ms from the first's start
    assert ends[-1] >= 1000 * MIN_SECONDS - 1  # markers and the profiler's clock: within 1 ms
    # it stopped once both minimums were met: the step before had not met both
    assert numbers[-1] == last or ends[-2] < 1000 * MIN_SECONDS + 1


def test_profile_fit_traces_the_scales_steps_and_two_seconds_in_one_call() -> None:
    summary = profile_fit(model(32), starved(), NOTEBOOK, "one_call")
    first, last = settings().scale.profile_steps
    assert last - first + 1 >= 20  # enough steps that one slow step cannot set the figure
    # 50 ms a batch: twenty steps take one second, so the two seconds set the end
    assert len(summary.steps) > last - first + 1
    assert_steady_window(summary)
    assert summary.bound == "input-bound" and summary.run == f"{NOTEBOOK}/one_call"


def test_a_window_of_fast_steps_lasts_two_seconds_and_one_of_slow_steps_its_steps() -> None:
    fast = StepProfiler(NOTEBOOK, "fast", (2, 4), seconds=0.5)
    model(32).fit(
        one_batch(32),
        steps_per_epoch=UNTIL_STOPPED,
        callbacks=[fast, _EndWhenTraced(fast)],
        shuffle=False,
        verbose=0,
    )
    fast_steps = summarize(fast.logdir).steps
    assert len(fast_steps) > 3
    # markers open and close within a millisecond of the profiler's clock
    assert fast_steps[-1].start_ms + fast_steps[-1].time_ms >= 499 and fast_steps[-1].start_ms < 501
    slow = StepProfiler(NOTEBOOK, "slow", (2, 4), seconds=0.01)
    model(32).fit(
        starved(),
        steps_per_epoch=UNTIL_STOPPED,
        callbacks=[slow, _EndWhenTraced(slow)],
        shuffle=False,
        verbose=0,
    )
    assert [step.number for step in summarize(slow.logdir).steps] == [2, 3, 4]


class TwoBatches(keras.utils.PyDataset):
    """A ``PyDataset`` of two batches, as ``flow_from_directory`` gives for a small folder."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full((4, 32, 32, 3), index, dtype=np.float32), np.arange(4) % 5


@pytest.mark.parametrize(
    "short", [lambda: one_batch(32).take(2), TwoBatches], ids=["tf.data", "PyDataset"]
)
def test_profile_fit_repeats_data_shorter_than_its_window_and_says_so(short, capsys) -> None:
    summary = profile_fit(model(32), short(), NOTEBOOK, "short")
    assert_steady_window(summary)
    assert "the data holds 2 batches an epoch: " in capsys.readouterr().out


def test_data_long_enough_runs_as_it_is_until_the_trace_ends_it(capsys) -> None:
    endless = one_batch(32)
    assert repeat_for(endless, 10) == (endless, 1, UNTIL_STOPPED)
    long = [None] * 30
    assert repeat_for(long, 10)[1:] == (-(-UNTIL_STOPPED // 30), 30)
    assert capsys.readouterr().out == ""


def summary_of(waits_ms: list[float], step_ms: float = 10.0) -> StepSummary:
    """A summary of steps of ``step_ms`` that waited ``waits_ms``."""
    steps = tuple(
        Step(n, n * step_ms, step_ms, ((n * step_ms, n * step_ms + wait),))
        for n, wait in enumerate(waits_ms)
    )
    return StepSummary("made/up", steps, (), 0.0, {})


def test_the_median_wait_stands_beside_the_mean() -> None:
    summary = summary_of([1.0] * 19 + [10.0])  # one step waits its whole time
    assert summary.wait_share == pytest.approx(0.145)  # the mean, the recorded figure
    assert summary.median_wait_share == pytest.approx(0.1)
    text = str(summary)
    assert "median step" in text and "longest wait" in text and "(step 19)" in text
    assert "20 steps traced (0-19), 0.2 s" in text
