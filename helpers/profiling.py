"""See where a training step waits: capture a profile, summarise it, draw it.

Capture: ``StepProfiler`` traces the steady state: training steps from ``first`` (counted from 0,
so warm-up and tracing of the step function stay outside) until at least ``last`` and at least
two seconds (``measure.MIN_SECONDS``), so that no single slow step sets the figure, into
``logs/<notebook>/<run>/``, as a Keras callback or around a custom training loop.
``tensorboard --logdir logs/<notebook>`` lists every capture in its Profile tab.

Each traced step carries a root step marker (``_r=1``): that is what xprof needs to
measure steps. Keras 3's ``TensorBoard(profile_batch=...)`` marks its batches without
it, which is why the Profile tab then says "No step time measured".

Summary: ``summarize`` reads the capture's events from its ``.xplane.pb`` with TensorFlow's own
XSpace message (the events the Profile tab's trace viewer shows; xprof's converter is not
needed, and its generated code wants a newer protobuf than Colab ships) and measures how long
each step waited for its next batch (``IteratorGetNextOp::DoCompute``, or the ``next batch``
span a custom loop marks), ranks the ``tf.data`` stages (``Iterator::*``) by self time, and
notices when the batches come from Python: ``model.fit`` turns a Python generator or a
``PyDataset`` such as ``ImageDataGenerator().flow_from_directory(...)`` into an
``Iterator::Generator`` stage that runs the Python code inside a ``PyFunc`` op.

Picture: ``helpers.plots.timeline`` draws a few steps, computing vs waiting, above what the
input pipeline (and any accelerator) was doing meanwhile.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

import keras
import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from helpers.config import settings
from helpers.measure import MIN_SECONDS, UNTIL_STOPPED

STEP_TRACE = "train"  # the trace viewer shows each traced step as "train <n>"
# the span helpers.accelerator's stand-in step holds the device
DEVICE_TRACE = "accelerator (simulated)"

WAIT_TRACE = "next batch"  # marks a custom loop's fetch, whatever feeds it
# Where a step blocks for its batch: the iterator op inside a Keras train function
# (the AsOptional one when steps_per_execution > 1), an eager next(), or a marked fetch.
WAIT_EVENTS = {"IteratorGetNextOp::DoCompute", "IteratorGetNextAsOptionalOp::DoCompute", WAIT_TRACE}
STAGE_PREFIX = "Iterator::"
# Dataset.from_generator, so also fit(generator or PyDataset)
GENERATOR_STAGE = "Iterator::Generator"
# ops that call Python: generators, numpy_function, py_function
PYTHON_OPS = {"PyFunc", "EagerPyFunc"}
# Once a fifth of the step goes to waiting, the input pipeline is the thing to fix first.
INPUT_BOUND_SHARE = 0.2

Batch = TypeVar("Batch")
Interval = tuple[float, float]  # start and end, in ms from the first traced step


class StepProfiler(keras.callbacks.Callback):
    """Profile training steps from ``first`` until at least ``last`` and ``seconds`` have passed.

    The capture goes to ``logs_dir/<notebook>/<run>``.

    Notebook 01 teaches it as its ``TraceSteps`` callback: count steps across epochs, start the
    profiler a step early, wrap each traced step in ``Trace("train", step_num=step, _r=1)``, and
    once the window holds steps ``first..last`` and lasts ``seconds``, stop; stop too when training
    ends first (the data ran out). ``TraceSteps`` then ends its fit; this one only stops recording
    and sets ``done``, so it can watch a long ``fit`` (``profile_fit`` ends its own fit when it is
    done), or wrap a custom loop's batches: ``for x, y in profiler.trace(dataset): train_step(x, y)``.
    Notebook 09's ``JaxTrace`` is this callback recording with JAX's profiler: it overrides
    ``start``, ``stop`` and ``step_marker``.
    """

    def __init__(
        self,
        notebook: str,
        run: str,
        steps: tuple[int, int] | None = None,
        seconds: float = MIN_SECONDS,
    ) -> None:
        super().__init__()
        self.logdir = settings().logs_dir / notebook / run
        self.first, self.last = steps or settings().scale.profile_steps
        self.seconds = seconds
        self.done = False  # the window is traced and recording has stopped
        self._step = 0
        self._tracing = False
        self._open_step = ExitStack()

    def start(self) -> None:
        """Start recording into ``logdir``."""
        tf.profiler.experimental.start(str(self.logdir))

    def stop(self) -> None:
        """Stop recording and write the capture."""
        tf.profiler.experimental.stop()

    def step_marker(self, step: int) -> AbstractContextManager:
        """The event that marks one traced step for the Profile tab: a root step event."""
        return tf.profiler.experimental.Trace(STEP_TRACE, step_num=step, _r=1)

    # Recording starts a step early: the profiler keeps only work that starts while it runs, and
    # the first traced step's batch is fetched before that step begins.
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self._step == max(self.first - 1, 0):
            self.start()
            self._tracing = True
        if self._step == self.first:
            self._began = time.perf_counter()
        if self._tracing and self._step >= self.first:
            self._open_step.enter_context(self.step_marker(self._step))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._open_step.close()
        if self._tracing and self._step >= self.last:
            if time.perf_counter() - self._began >= self.seconds:
                self.on_train_end()
                self.done = True
        self._step += 1

    def on_train_end(self, logs: dict | None = None) -> None:
        self._open_step.close()
        if self._tracing:  # training may end before the window is complete
            self.stop()
            self._tracing = False

    def trace(self, batches: Iterable[Batch]) -> Iterator[Batch]:
        """Yield the batches of a custom loop until the window is traced, each step timed from its
        fetch to the next fetch."""
        batches = iter(batches)
        try:
            while not self.done:
                self.on_train_batch_begin(self._step)
                with tf.profiler.experimental.Trace(WAIT_TRACE):
                    batch = next(batches, StopIteration)
                if batch is StopIteration:
                    return
                yield batch
                self.on_train_batch_end(self._step)
        finally:  # also when the loop breaks early
            self.on_train_end()


class _EndWhenTraced(keras.callbacks.Callback):
    """Ends a ``fit`` once its profiler has traced its window."""

    def __init__(self, profiler: StepProfiler) -> None:
        super().__init__()
        self.profiler = profiler

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.model.stop_training = self.profiler.done


@dataclass(frozen=True)
class Step:
    """One traced training step."""

    number: int
    start_ms: float  # from the first traced step's start
    time_ms: float
    waits: tuple[Interval, ...]  # when the step was blocked on its next batch

    @property
    def wait_ms(self) -> float:
        return sum(end - start for start, end in self.waits)

    @property
    def wait_share(self) -> float:
        return self.wait_ms / self.time_ms


@dataclass(frozen=True)
class Stage:
    """A tf.data stage (``Iterator::Map``...) over the traced steps."""

    name: str
    self_ms: float  # its own time over the traced steps, its upstream stages left out
    calls: int
    asynchronous: bool  # runs its upstream on other threads (Prefetch...): its own time is waiting


@dataclass(frozen=True)
class StepSummary:
    """Where the traced steps spent their time, read from a capture's trace events."""

    run: str
    steps: tuple[Step, ...]
    stages: tuple[Stage, ...]  # most self time first
    python_ms: float  # over the traced steps, inside ops that run Python for tf.data
    lanes: Mapping[str, tuple[Interval, ...]]  # busy time of the input pipeline and of each device

    @property
    def step_ms(self) -> float:
        return sum(step.time_ms for step in self.steps) / len(self.steps)

    @property
    def wait_ms(self) -> float:
        return sum(step.wait_ms for step in self.steps) / len(self.steps)

    @property
    def wait_share(self) -> float:
        """Share of the traced time spent waiting for the next batch: the mean, the figure recorded."""
        return self.wait_ms / self.step_ms

    @property
    def median_wait_share(self) -> float:
        """The median of the steps' own shares of time spent waiting: a few slow steps do not move it."""
        return statistics.median(step.wait_share for step in self.steps)

    @property
    def bound(self) -> str:
        """ "input-bound" or "compute-bound"."""
        return "input-bound" if self.wait_share >= INPUT_BOUND_SHARE else "compute-bound"

    @property
    def python_generator(self) -> bool:
        """Whether the batches come from a Python generator (or a PyDataset)."""
        return any(stage.name == GENERATOR_STAGE for stage in self.stages)

    @property
    def verdict(self) -> str:
        """One line: input- or compute-bound, and the numbers that say so."""
        verdict = (
            f"{self.bound}: {self.wait_share:.0%} of each step waits for the next batch "
            f"({self.wait_ms:.1f} of {self.step_ms:.1f} ms)"
        )
        python_ms = self.python_ms / len(self.steps)
        if self.bound == "compute-bound" or python_ms < self.wait_ms / 2:
            return verdict
        if self.python_generator:
            return (
                f"{verdict}; the batches come from a Python generator "
                f"({GENERATOR_STAGE} runs {python_ms:.1f} ms of Python per step)"
            )
        return f"{verdict}; tf.data runs {python_ms:.1f} ms of Python per step (py_function, numpy_function)"

    def __str__(self) -> str:
        n, steps = len(self.steps), self.steps
        seconds = (steps[-1].start_ms + steps[-1].time_ms - steps[0].start_ms) / 1000
        slowest = max(steps, key=lambda s: s.wait_ms)
        lines = [
            f"{self.run}: {n} steps traced ({steps[0].number}-{steps[-1].number}), {seconds:.1f} s",
            "                 time ms   waiting ms   waiting",
            f"mean           {self.step_ms:9.1f} {self.wait_ms:12.1f} {self.wait_share:9.0%}",
            f"median step    {statistics.median(s.time_ms for s in steps):9.1f} "
            f"{statistics.median(s.wait_ms for s in steps):12.1f} {self.median_wait_share:9.0%}",
            f"longest wait   {slowest.time_ms:9.1f} {slowest.wait_ms:12.1f} "
            f"{slowest.wait_share:9.0%}  (step {slowest.number})",
        ]
        if self.stages:
            lines.append("tf.data stages by self time, ms per step:")
            lines += [
                f"  {stage.name:<28} {stage.self_ms / n:8.1f}"
                + "  (asynchronous: waits for its upstream)" * stage.asynchronous
                for stage in self.stages[:5]
            ]
        if self.python_ms:
            lines.append(f"Python called by tf.data: {self.python_ms / n:.1f} ms per step")
        return "\n".join([*lines, f"Verdict: {self.verdict}"])

    def _repr_pretty_(self, printer, cycle: bool) -> None:  # how IPython shows it
        printer.text(str(self))


def profile_fit(
    model: keras.Model,
    data: object,
    notebook: str,
    run: str,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    **fit_options,
) -> StepSummary:
    """Train ``model`` on ``data`` until the profiler's window is traced, and summarise the capture.

    The capture notebook 01 teaches, in one call: the trace goes to ``logs/<notebook>/<run>/``.
    ``callbacks`` run before the profiler's, inside each traced step; ``fit_options`` go to
    ``model.fit``. The pipeline does its own shuffling, so ``fit`` is told not to. The data repeats
    for as long as the window takes, and says so when it holds fewer batches than the window's steps.
    """
    profiler = StepProfiler(notebook, run)
    data, epochs, steps_per_epoch = repeat_for(data, profiler.last + 1)
    model.fit(
        data,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,
        callbacks=[*callbacks, profiler, _EndWhenTraced(profiler)],
        verbose=0,
        **fit_options,
    )
    return summarize(profiler.logdir)


def repeat_for(data: object, steps: int) -> tuple[object, int, int]:
    """``data``, epochs and steps per epoch for a ``fit`` that runs until a callback ends it.

    A trace's window lasts at least two seconds, however many steps that takes, so the data
    repeats: a ``tf.data.Dataset`` with ``repeat()``, a Keras ``PyDataset`` (such as
    ``flow_from_directory``'s iterator, which cannot be repeated) for as many epochs as it takes.
    Data of fewer than ``steps`` batches (the window's) says so. Notebook 01 writes out the
    ``PyDataset`` case.
    """
    if isinstance(data, tf.data.Dataset):
        batches = int(data.cardinality())
        if batches == tf.data.INFINITE_CARDINALITY:
            return data, 1, UNTIL_STOPPED
        if batches < steps:  # finite, or unknown (after a filter)
            print(f"the data holds {_batches(batches)}: it repeats for the trace")
        return data.repeat(), 1, UNTIL_STOPPED  # repeating costs nothing
    batches = len(data)
    if batches < steps:
        print(f"the data holds {_batches(batches)}: epochs repeat it for the trace")
    return data, -(-UNTIL_STOPPED // batches), batches


def _batches(count: int) -> str:
    return (
        "an unknown number of batches"
        if count < 0
        else f"{count} batch{'es' * (count != 1)} an epoch"
    )


def summarize(logdir: Path | str) -> StepSummary:
    """Summarise the newest capture under ``logdir`` (a ``StepProfiler``'s ``logdir``)."""
    logdir = Path(logdir)
    events, threads = _trace_events(logdir)
    markers = [e for e in events if "step_num" in e.args]
    if not markers:
        raise ValueError(f"{_run_name(logdir)}: the capture holds no training steps")
    # Only the steps' window counts, as milliseconds from its start.
    origin, end = markers[0].start, markers[-1].end
    events = [
        e._replace(start=max(e.start, origin) - origin, end=min(e.end, end) - origin)
        for e in events
        if e.start < end and e.end > origin
    ]
    waits = _union((e.start, e.end) for e in events if e.name in WAIT_EVENTS)
    lanes = {
        "input pipeline": _union(
            (e.start, e.end) for e in events if e.name.startswith(STAGE_PREFIX)
        )
    }
    if simulated := _union((e.start, e.end) for e in events if e.name == DEVICE_TRACE):
        lanes[DEVICE_TRACE] = simulated
    for device, streams in _device_streams(threads).items():
        lanes[device] = _union((e.start, e.end) for e in events if e.thread in streams)
    return StepSummary(
        run=_run_name(logdir),
        steps=tuple(
            Step(int(e.args["step_num"]), e.start, e.end - e.start, clip(waits, e.start, e.end))
            for e in events
            if "step_num" in e.args
        ),
        stages=_stages([e for e in events if e.name.startswith(STAGE_PREFIX)]),
        python_ms=sum(e.end - e.start for e in events if e.name in PYTHON_OPS),
        lanes=lanes,
    )


class _Event(NamedTuple):
    name: str
    thread: tuple[int, int]  # process and thread ids
    start: float
    end: float
    args: dict[str, object]


def _trace_events(logdir: Path) -> tuple[list[_Event], dict[tuple[int, int], tuple[str, str]]]:
    """The newest capture's events in time order, and each thread's process and thread names."""
    captures = sorted(path for path in (logdir / "plugins" / "profile").glob("*") if path.is_dir())
    if not captures:
        raise FileNotFoundError(f"{_run_name(logdir)}: no profile captured yet")
    events, threads = [], {}
    for host, path in enumerate(sorted(captures[-1].glob("*.xplane.pb"))):
        for plane in xplane_pb2.XSpace.FromString(path.read_bytes()).planes:
            for line in plane.lines:
                # a process per plane and host, as xprof shows them
                thread = (host * 1000 + plane.id, line.id)
                threads[thread] = (plane.name, line.display_name or line.name)
                for event in line.events:
                    kind = plane.event_metadata[event.metadata_id]
                    name = kind.display_name or kind.name
                    start = line.timestamp_ns / 1e6 + event.offset_ps / 1e9
                    # only step markers' and stages' statistics are read: reading them all
                    # costs a long trace a second
                    read = name == STEP_TRACE or name.startswith(STAGE_PREFIX)
                    stats = _stats(plane, [*kind.stats, *event.stats]) if read else {}
                    events.append(
                        _Event(name, thread, start, start + event.duration_ps / 1e9, stats)
                    )
    return sorted(events, key=lambda e: (e.start, -e.end)), threads


def _stats(plane: xplane_pb2.XPlane, stats: list[xplane_pb2.XStat]) -> dict[str, object]:
    """An event's statistics by name (``step_num``, a tf.data stage's ``id`` and ``parent_id``...)."""
    values = {}
    for stat in stats:
        value = getattr(stat, stat.WhichOneof("value") or "int64_value")
        if stat.WhichOneof("value") == "ref_value":  # a string kept once in the plane's table
            value = plane.stat_metadata[value].name
        values[plane.stat_metadata[stat.metadata_id].name] = value
    return values


def _device_streams(
    threads: dict[tuple[int, int], tuple[str, str]],
) -> dict[str, set[tuple[int, int]]]:
    """Accelerator lanes: each device's stream threads (its other lines are derived summaries)."""
    streams = defaultdict(set)
    for thread, (process, name) in threads.items():
        if process.startswith("/device:") and name.startswith("Stream"):
            streams[process].add(thread)
    return dict(streams)


def _stages(iterators: list[_Event]) -> tuple[Stage, ...]:
    """Stages by self time: an iterator's time minus that of the iterators it calls on its thread."""
    self_ms, calls = Counter(), Counter()
    open_by_thread = defaultdict(list)
    for event in iterators:  # in time order, callers before callees
        open_events = open_by_thread[event.thread]
        while open_events and open_events[-1].end <= event.start:
            open_events.pop()
        if open_events:
            self_ms[open_events[-1].name] -= event.end - event.start
        self_ms[event.name] += event.end - event.start
        calls[event.name] += 1
        open_events.append(event)
    # A stage whose upstream runs on threads it never runs on itself (Prefetch, ParallelMap...)
    # spends its own time waiting for that upstream.
    names, threads = {}, defaultdict(set)
    for event in iterators:
        names[event.args.get("id")] = event.name
        threads[event.args.get("id")].add(event.thread)
    asynchronous = {
        names[e.args["parent_id"]]
        for e in iterators
        if e.args.get("parent_id") in names and e.thread not in threads[e.args["parent_id"]]
    }
    return tuple(
        Stage(name, ms, calls[name], name in asynchronous) for name, ms in self_ms.most_common()
    )


def _union(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = merged[-1][0], max(end, merged[-1][1])
        else:
            merged.append((start, end))
    return tuple(merged)


def clip(intervals: tuple[Interval, ...], start: float, end: float) -> tuple[Interval, ...]:
    """The parts of ``intervals`` between ``start`` and ``end``."""
    return tuple((max(s, start), min(e, end)) for s, e in intervals if s < end and e > start)


def _run_name(logdir: Path) -> str:
    """The capture's folder as TensorBoard's logs root sees it: never a machine's path."""
    root, path = settings().logs_dir.resolve(), logdir.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
