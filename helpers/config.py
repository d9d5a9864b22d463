"""The one place that decides a run's scale, dataset and folders.

Notebooks and tests read ``settings()``; environment variables choose:

- ``COURSE_SCALE``: ``quick`` (default: CI and offline learners) or ``full``.
- ``COURSE_DATASET``: ``embedded`` (default), a registered real dataset
  (``flowers``, ``stanford_dogs``, ``cats_vs_dogs``, ``lfw``) or a path to a
  class-per-folder directory of your own.
- ``COURSE_DATA_DIR``, ``COURSE_LOGS_DIR``, ``COURSE_RESULTS_DIR``: where datasets,
  profiler traces and measured results go (default: beside the notebooks).

The course's public address, its badges and setup cells live in ``helpers.publishing``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import colab

ROOT = Path(__file__).resolve().parents[1]
# Notebooks whose Keras runs on another backend than TensorFlow: 09 takes the TPU runtimes' road.
KERAS_BACKENDS = {"09_tfrecords_on_tpu": "jax"}
# Quick, quiet and repeatable: the settings every test and committed output is made with.
QUICK_ENV = {
    "COURSE_SCALE": "quick",
    "COURSE_DATASET": "embedded",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Scale:
    """How big a run is: everything a notebook sizes by."""

    name: str
    image_size: int  # square side the model sees, in pixels
    batch_size: int
    epochs: int
    model: str  # a name understood by helpers.models.build_model
    embedded_variant: str  # which embedded dataset "embedded" means: "quick" or "bench"
    # first traced step, after warm-up, and the last one at least: a trace also lasts two seconds
    profile_steps: tuple[int, int]
    bench_batches: int  # batches timed when measuring input-only throughput


SCALES = {
    "quick": Scale(
        "quick",
        image_size=128,
        batch_size=32,
        epochs=2,
        model="small_cnn",
        embedded_variant="quick",
        profile_steps=(4, 23),
        bench_batches=15,
    ),
    "full": Scale(
        "full",
        image_size=224,
        batch_size=32,
        epochs=5,
        model="efficientnetb3",
        embedded_variant="bench",
        profile_steps=(10, 29),
        bench_batches=60,
    ),
}


@dataclass(frozen=True)
class Settings:
    """The scale and dataset a run uses, and the folders it writes to."""

    scale: Scale
    dataset: str
    data_dir: Path
    logs_dir: Path
    results_dir: Path
    notebook: str = ""  # the notebook's file name without .ipynb, when a notebook asked

    def __str__(self) -> str:
        scale = self.scale
        return (
            f"{self.notebook or 'course'} · scale {scale.name}: {scale.image_size} px, batch {scale.batch_size}, "
            f"{scale.epochs} epochs, model {scale.model} · dataset {self.dataset}"
        )


def _folder(variable: str, default: str) -> Path:
    return Path(os.environ.get(variable) or ROOT / default).expanduser()


def settings(notebook: str = "") -> Settings:
    """Read the run's settings from the environment (defaults run offline)."""
    scale_name = os.environ.get("COURSE_SCALE", "quick").strip().lower()
    if scale_name not in SCALES:
        raise ValueError(f"COURSE_SCALE={scale_name!r}: choose one of {', '.join(SCALES)}")
    return Settings(
        scale=SCALES[scale_name],
        dataset=os.environ.get("COURSE_DATASET", "").strip() or "embedded",
        data_dir=_folder("COURSE_DATA_DIR", "data"),
        logs_dir=_folder("COURSE_LOGS_DIR", "logs"),
        results_dir=_folder("COURSE_RESULTS_DIR", "results"),
        notebook=notebook,
    )


def start(notebook: str) -> Settings:
    """A notebook's first call: quiet TensorFlow's C++ start-up logs, print and return the run's settings.

    ``notebook`` is the notebook's file name without ``.ipynb``: it names its traces and results.
    A notebook in ``KERAS_BACKENDS`` gets its Keras backend here, which Keras reads once, when it
    is first imported: so before any import of it. An exported ``KERAS_BACKEND`` wins.
    Set ``COURSE_SCALE`` and ``COURSE_DATASET`` before starting Jupyter to choose another run.
    On Colab or Kaggle it first installs what the runtime lacks and moves into the course's
    ``notebooks/`` folder (``helpers.colab.set_up``); elsewhere it changes nothing.
    """
    if colab.hosted():
        colab.set_up()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read when TensorFlow is first imported
    if notebook in KERAS_BACKENDS:
        backend = os.environ.setdefault("KERAS_BACKEND", KERAS_BACKENDS[notebook])
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
            raise RuntimeError(
                f"Keras was imported with another backend than {backend}: "
                "restart the kernel, then run this cell first"
            )
    chosen = settings(notebook)
    print(chosen)
    return chosen


def display_path(path: Path | str) -> str:
    """A path as a reader should see it: relative to the course, never a machine's home; a URL as it is."""
    if "://" in str(path):  # gs://bucket/folder: Path would fold its double slash
        return str(path)
    path = Path(path).resolve()
    for base, label in ((ROOT, ""), (Path.home(), "~/")):
        if path.is_relative_to(base):
            return label + path.relative_to(base).as_posix()
    return path.as_posix()
