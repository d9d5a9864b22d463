"""A stand-in for an accelerator's training step: the demand an accelerator would put on this host.

On a GPU or TPU the host's CPU is free while the device computes, so the input pipeline has
the whole CPU and a step waits only when input is slower than the device. On two CPU cores a
real model's step is slower than any pipeline and its trace says "compute-bound". The stand-in
step trains a real model that costs the CPU almost nothing (average the pixels, one dense
layer: loss and accuracy stay real), then holds the training loop for as long as a named
accelerator would take for the batch, asleep, so the CPU stays free for the pipeline.

It is a demand, not a measurement of a device: an accelerator of the named speed, fed by this
host. Its wait follows from the pipeline's rate: with ``d`` ms of device time per batch of ``b``
images and a pipeline delivering ``r`` images/s, a step waits about ``max(0, 1 - d r / b)``
(``predicted_wait_share``), and ``profile_on_device`` prints that prediction, from the pipeline's
rate measured alone, beside the traced wait. Where the two part, the trace usually tells why.

The device time comes from a published figure, scaled by pixel count to the run's image size
(a convolutional network's work grows with the pixels it sees). Each step of that derivation errs
in a known direction:

- The figure is TF32 training at the benchmark's large per-GPU batch; scaled linearly to a batch
  of 32 it is optimistic, since per-step overhead weighs more on small batches (the same README's
  B0 TF32 inference table: 5,253 images/s at batch 512, 2,185 at 32): a real A100 would ask less.
- Mixed precision, which notebook 09 teaches, is 2.85x faster on that table (3,454 images/s): a
  real A100 in mixed precision would ask more.
- A real step keeps a host thread busy launching kernels and copying batches; the stand-in's
  sleep leaves both cores to the pipeline: a real host would deliver less.

The published case of an accelerator starved by its input is in the same repository: on a V100,
its EfficientNet-B0 trains only 1.15x faster in mixed precision than in FP32 (752 -> 868
images/s), which its README's "Known issues" puts down to the CPU-bound AutoAugment in its
input pipeline.

Two accelerators:

- ``A100``, one GPU, what every pipeline notebook traces: NVIDIA DeepLearningExamples,
  TensorFlow2/Classification/ConvNets/efficientnet_v1, README, "Training performance results for
  EfficientNet v1-B0", NVIDIA DGX A100 (8x A100 80GB), 1 GPU, TF32 (TensorFlow's default precision
  on that GPU): 1,209 images/s at 224 x 224.
- ``TPU_V3_8``, one Cloud TPU v3-8: a single host whose input pipeline feeds eight TPU cores,
  the setting of notebook 03's label-op lesson, traced by ``profile_host`` (no model on the host).
  MLPerf Training v0.5, Google's closed-division ResNet-50 run on a Cloud TPU v3-8
  (mlcommons/training_results_v0.5, v0.5.0/google/cloud_v3.8/resnet-tpuv3-8/results/tpu/resnet/
  result_0.txt, global batch 1,024): between the evaluations after epochs 4 and 8 it trained 4
  epochs of ImageNet's 1,281,167 images in 687.7 s (eval_stop 1541661364.46, eval_start
  1541662052.14), about 7,450 images/s at 224 x 224; the next four epochs give about the same.
  Lacking a published v3-8 throughput for EfficientNet, ResNet-50's stands in. A host's demand is
  images per second, not operations: ResNet-50 has about ten times EfficientNet-B0's operations per
  image, yet accelerators train the two at rates of the same order (NVIDIA's published A100 training
  tables put them within a small factor), so this demand is EfficientNet's only roughly, and no
  bound in either direction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from helpers.config import Settings
from helpers.measure import MIN_SECONDS, EpochTimer, Throughput, throughput
from helpers.profiling import DEVICE_TRACE, StepProfiler, StepSummary, profile_fit, summarize

# Two waits this far apart (in shares of the step) differ by more than the timing noise.
WAIT_NOISE = 0.05


@dataclass(frozen=True)
class Accelerator:
    """A published training throughput: what the stand-in step imitates."""

    name: str
    images_per_second: float
    image_size: int  # pixels, square, of the published figure
    source: str

    def step_ms(self, image_size: int, batch_size: int) -> float:
        """Milliseconds this accelerator would compute on a batch, scaled by pixel count."""
        pixels = (image_size / self.image_size) ** 2
        return 1000 * batch_size * pixels / self.images_per_second

    def describe(self, image_size: int, batch_size: int) -> str:
        """One line for a notebook: the figure, its source and the step it gives at this size."""
        return (
            f"stand-in: {self.name}, {self.images_per_second:,.0f} images/s at {self.image_size} px "
            f"({self.source}); scaled to {image_size} px, a batch of {batch_size} takes "
            f"{self.step_ms(image_size, batch_size):.1f} ms of device time, the small model's own step included"
        )


A100 = Accelerator(
    "one A100 80GB training EfficientNet-B0 in TF32",
    1209,
    224,
    "NVIDIA DeepLearningExamples, EfficientNet v1-B0 for TensorFlow 2, training performance",
)
TPU_V3_8 = Accelerator(
    "one TPU v3-8 (a host feeding 8 cores) training ResNet-50",
    7450,
    224,
    "MLPerf Training v0.5, Google's ResNet-50 run on a Cloud TPU v3-8, epochs 4 to 8",
)


class DeviceTime(keras.callbacks.Callback):
    """After each training batch, hold the loop for ``ms`` milliseconds, asleep: a device computing."""

    def __init__(self, ms: float) -> None:
        super().__init__()
        self.seconds = ms / 1000

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        with tf.profiler.experimental.Trace(DEVICE_TRACE):
            # the GIL and both cores are free for the input pipeline meanwhile
            time.sleep(self.seconds)


class _StepTimes(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.ms = [*getattr(self, "ms", []), 1000 * (time.perf_counter() - self.start)]


def own_step_ms(model: keras.Model, batch: tuple, steps: int = 20) -> float:
    """Median milliseconds of ``model``'s own training step (Keras included) on a batch already in memory."""
    times = _StepTimes()
    model.fit(
        tf.data.Dataset.from_tensors(batch).repeat(),
        epochs=1,
        steps_per_epoch=steps,
        shuffle=False,
        verbose=0,
        callbacks=[times],
    )
    return float(np.median(times.ms[steps // 2 :]))  # the first steps trace the step function


def stand_in_model(num_classes: int, image_size: int) -> keras.Model:
    """A real classifier whose own step costs the CPU a millisecond or two."""
    model = keras.Sequential(
        [
            keras.Input((image_size, image_size, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(num_classes),
        ],
        name="accelerator_stand_in",
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def predicted_wait_share(images_per_second: float, device_ms: float, images: int) -> float:
    """The share of each step an accelerator waits when a pipeline delivers ``images_per_second``.

    A step computes ``device_ms`` on a batch of ``images``; the pipeline makes that batch in
    ``images / images_per_second`` seconds, in parallel, so a step waits for the difference, if any.
    """
    return max(0.0, 1 - device_ms * images_per_second / (1000 * images))


@dataclass(frozen=True, repr=False)  # shown as a StepSummary is, with its prediction
class StandInSummary(StepSummary):
    """A stand-in's trace, beside the wait that its pipeline's rate, measured alone, predicts."""

    device_ms: float  # what a step holds: the device's time, or the model's own step where slower
    own_ms: float  # the model's own step on this CPU, Keras included
    batch: int  # what each step takes from the pipeline, in the units the rate counts
    images_per_second: float  # the pipeline alone, measured before the trace

    @property
    def predicted_wait_share(self) -> float:
        return predicted_wait_share(self.images_per_second, self.device_ms, self.batch)

    @property
    def prediction(self) -> str:
        """The predicted wait beside the traced one, and why they part, where the trace tells."""
        predicted, traced, median = (
            self.predicted_wait_share,
            self.wait_share,
            self.median_wait_share,
        )
        line = (
            f"Predicted from the pipeline's {self.images_per_second:,.0f} images/s measured alone: "
            f"{predicted:.0%} waiting; traced: {traced:.0%} (median step {median:.0%})"
        )
        if abs(traced - predicted) <= WAIT_NOISE:
            return line
        if abs(median - predicted) <= WAIT_NOISE < traced - median:
            return f"{line}: a few slow steps (a transient) raise the mean; the median step agrees"
        # wait = 1 - computing / step, and a waiting step lasts as long as the pipeline takes for
        # its batch: the prediction parts where either differs from what it assumed
        parts, computing_ms = [], self.step_ms - self.wait_ms
        if abs(computing_ms - self.device_ms) > WAIT_NOISE * self.device_ms:
            parts.append(
                f"besides waiting, the steps took {computing_ms:.1f} ms, not {self.device_ms:.1f}"
                + " (their own host work)" * (computing_ms > self.device_ms)
            )
        fed = 1000 * self.batch / self.step_ms  # the pipeline's rate, where it sets the step's
        if self.bound == "input-bound" and abs(fed - self.images_per_second) > WAIT_NOISE * fed:
            parts.append(
                f"under fit() the pipeline delivered {fed:,.0f} images/s, not "
                f"{self.images_per_second:,.0f}"
                + ", sharing the cores with the steps' host work"
                * (fed < self.images_per_second)
            )
        return f"{line}: {'; '.join(parts)}" if parts else line

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.prediction}"


def profile_on_device(
    model: keras.Model,
    data: Iterable,
    settings: Settings,
    name: str = "accelerator_stand_in",
    images: int | None = None,
    accelerator: Accelerator = A100,
    alone: Throughput | None = None,
) -> StandInSummary:
    """Trace ``model`` fed by ``data`` as if on ``accelerator``, into ``logs/<notebook>/<name>/``.

    A step lasts what ``accelerator`` would take for ``images`` images (default: the batch size).
    The model's own step (Keras included, measured first on a batch in memory) counts as device
    time: the stand-in sleeps only for the rest, and not at all where the model alone is slower (a
    busy CPU: it then asks for input more slowly than the accelerator would, and the wait it shows
    is a lower bound). The prediction the summary prints beside the traced wait comes from the
    pipeline's input-only rate: ``alone``, where the notebook has already measured this very
    ``data`` (the rate its row records), or else measured here first. The summary's ``wait_share``
    is what notebooks record as ``wait_share_accelerator``.
    """
    scale = settings.scale
    batch = next(iter(data))
    own_ms = own_step_ms(model, batch[:2])
    device_ms = accelerator.step_ms(scale.image_size, images or scale.batch_size)
    alone = alone or throughput(data)
    summary = profile_fit(
        model, data, settings.notebook, name, callbacks=[DeviceTime(max(0.0, device_ms - own_ms))]
    )
    return StandInSummary(
        **vars(summary),
        device_ms=max(device_ms, own_ms),
        own_ms=own_ms,
        batch=len(tf.nest.flatten(batch)[0]),
        images_per_second=alone.images_per_second,
    )


def profile_stand_in(
    data: Iterable,
    settings: Settings,
    num_classes: int,
    name: str = "accelerator_stand_in",
    alone: Throughput | None = None,
) -> StandInSummary:
    """``profile_on_device`` with ``stand_in_model``: the stand-in step every pipeline notebook traces."""
    model = stand_in_model(num_classes, settings.scale.image_size)
    return profile_on_device(model, data, settings, name, alone=alone)


# 20 steps at least, once the batches prefetched during start-up are used up
HOST_STEPS = (6, 25)


def profile_host(
    data: Iterable, settings: Settings, name: str, accelerator: Accelerator, images: int
) -> StepSummary:
    """Trace a host that only feeds ``accelerator``: each step takes a batch of ``data`` and holds the
    device for as long as it would compute on ``images`` images, into ``logs/<notebook>/<name>/``.

    No model runs on the host (a TPU host's CPU serves the input pipeline alone, the cores compute),
    so the trace shows what the pipeline itself makes the device wait: notebook 03's label-op lesson.
    ``data`` must not end within the traced steps (``repeat()`` it).
    """
    profiler = StepProfiler(settings.notebook, name, HOST_STEPS)
    device = DeviceTime(accelerator.step_ms(settings.scale.image_size, images))
    for step, _ in enumerate(profiler.trace(data)):
        device.on_train_batch_end(step)
    return summarize(profiler.logdir)


class _TimedEpochs(EpochTimer):
    """Epoch times; stops training once the epochs after the first have taken ``seconds`` (at least two of them)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.enough = seconds

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        timed = self.seconds[1:]
        self.model.stop_training = len(timed) >= 2 and sum(timed) >= self.enough


def fit_throughput(
    data: Iterable,
    images_per_epoch: int,
    settings: Settings,
    num_classes: int,
    seconds: float = MIN_SECONDS,
    accelerator: Accelerator = A100,
) -> Throughput:
    """Images per second ``fit()`` takes from ``data`` when each step lasts what ``accelerator`` would take.

    Trains ``stand_in_model`` on epochs of ``images_per_epoch`` images from ``data`` (a ``PyDataset``
    or an endless ``tf.data.Dataset``), its steps padded with sleep as in ``profile_on_device``. The
    first epoch traces the step function and starts the input's workers; the next ones are timed,
    at least two of them and at least ``seconds``. The device caps the figure at its own rate; below
    it, the input sets it. Notebook 01 compares loaders with it.
    """
    model = stand_in_model(num_classes, settings.scale.image_size)
    device_ms = accelerator.step_ms(settings.scale.image_size, settings.scale.batch_size)
    sleep_ms = max(0.0, device_ms - own_step_ms(model, next(iter(data))[:2]))
    timer, steps = _TimedEpochs(seconds), -(-images_per_epoch // settings.scale.batch_size)
    # the timer stops it
    model.fit(
        data,
        epochs=1000,
        steps_per_epoch=steps,
        shuffle=False,
        verbose=0,
        callbacks=[timer, DeviceTime(sleep_ms)],
    )
    timed = timer.seconds[1:]
    return Throughput(
        images_per_epoch * len(timed) / sum(timed),
        steps * len(timed),
        images_per_epoch * len(timed),
        sum(timed),
    )
