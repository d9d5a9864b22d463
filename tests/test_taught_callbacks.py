"""The trace callbacks as the notebooks write them out still leave a capture when training ends early.

A small folder of one's own gives an epoch of a batch or two: ``fit`` then stops before the
callback's last traced step, and a callback that stops the profiler only at that step never
writes its capture. Each callback is taken from the committed notebook's own cell.
"""

from __future__ import annotations

import contextlib
import time

import jax
import keras
import nbformat
import numpy as np
import pytest
import tensorflow as tf

from helpers import profiling
from helpers.config import ROOT, settings
from helpers.measure import MIN_SECONDS, UNTIL_STOPPED

BATCHES = 6  # the data ends after step 5, inside the traced window
WINDOW = (4, 8)


def taught(notebook: str, name: str) -> type[keras.callbacks.Callback]:
    """The class ``name`` as defined in the notebook's code cell that starts with ``class <name>``."""
    cells = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4).cells
    source = next(
        cell.source
        for cell in cells
        if cell.cell_type == "code" and cell.source.lstrip().startswith(f"class {name}(")
    )
    namespace = {
        "contextlib": contextlib,
        "jax": jax,
        "keras": keras,
        "profiling": profiling,
        "tf": tf,
        "time": time,
    }
    exec(compile(source, f"{notebook}:{name}", "exec"), namespace)
    return namespace[name]


def short_fit(callback: keras.callbacks.Callback) -> None:
    """One epoch over ``BATCHES`` batches: it ends before ``WINDOW``'s last step."""
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.random((BATCHES * 4, 8, 8, 3), dtype=np.float32), rng.integers(0, 2, BATCHES * 4))
    ).batch(4)
    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    net.fit(data, epochs=1, callbacks=[callback], shuffle=False, verbose=0)


@pytest.mark.parametrize(
    "notebook, name",
    [("01_image_data_generator", "TraceSteps"), ("09_tfrecords_on_tpu", "JaxTrace")],
)
def test_a_taught_trace_callback_leaves_a_capture_when_training_ends_early(notebook, name):
    """Each callback built as its notebook builds it: 01's from a folder, 09's as a ``StepProfiler``."""
    callback = taught(notebook, name)
    if name == "TraceSteps":
        logdir = settings().logs_dir / "taught" / name
        short_fit(callback(logdir, *WINDOW))
    else:
        trace = callback("taught", name, steps=WINDOW)
        short_fit(trace)
        logdir = trace.logdir
    captures = list((logdir / "plugins" / "profile").glob("*/*.xplane.pb"))
    assert captures, f"{notebook}'s {name}: no capture after a fit that ended at step {BATCHES - 1}"
    if name == "TraceSteps":  # TensorFlow's profiler: the steps that ran are in it
        assert [step.number for step in profiling.summarize(logdir).steps] == list(
            range(WINDOW[0], BATCHES)
        )


def test_the_taught_trace_callback_ends_its_fit_after_its_steps_and_two_seconds() -> None:
    """01's callback: steps ``first..last`` at least, two seconds at least, then the fit ends."""
    logdir = settings().logs_dir / "taught" / "window"
    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    endless = tf.data.Dataset.from_tensors((tf.zeros((4, 8, 8, 3)), tf.zeros(4, tf.int32))).repeat()
    trace = taught("01_image_data_generator", "TraceSteps")(logdir, *WINDOW)
    net.fit(endless, steps_per_epoch=UNTIL_STOPPED, callbacks=[trace], shuffle=False, verbose=0)
    steps = profiling.summarize(logdir).steps
    assert steps[0].number == WINDOW[0] and len(steps) > WINDOW[1] - WINDOW[0] + 1  # tiny steps
    span_ms = steps[-1].start_ms + steps[-1].time_ms
    assert 1000 * MIN_SECONDS - 1 <= span_ms < 1000 * MIN_SECONDS + 1 + steps[-1].time_ms
