"""The Colab and Kaggle half of every notebook's setup cell: install what the runtime lacks.

On Colab (or Kaggle) the setup cell clones the course at its ref into ``course/`` in the working
folder (``/content``, ``/kaggle/working``) and stops with one message if that gave no ``helpers``
to import. Its ``start()`` then calls ``set_up()``, which installs what the runtime lacks and moves
into ``course/notebooks`` as the notebooks expect (so running the cell again finds ``../helpers``
and clones nothing). Standard library only: it runs before anything is installed.

``helpers.publishing`` writes the setup cell and the badge that lead here.

Colab ships TensorFlow, Keras, TensorBoard and the rest of what the course imports; installing
them again would swap its runtime's versions underneath it. What it lacks is installed where missing:
- The profiler plugin, requirements.txt's version, with ``--no-deps``: its metadata asks for newer
  absl-py and urllib3 than Colab ships, yet the Profile tab imports neither (absl serves xprof's
  command-line tools, urllib3 ``gs://`` folders). What it does import (etils, fsspec, six, werkzeug,
  protobuf) Colab ships; its wheels are py3-none and reach their converter through a C library, so
  their generated protobuf code checks no runtime version and loads with Colab's protobuf 5.
  tests/test_colab_runtime.py installs it so on Colab's versions and serves a capture in TensorBoard.
- On TPU runtimes (which ship JAX, not TensorFlow): TensorFlow, for tf.data, pinned to a version that
  installs beside their packages (a resolver dry-run in tests/test_colab.py checks that against
  Colab's published list). It brings TensorBoard, which those runtimes lack, so the plugin loads
  there too.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# By the module the course imports: the pip arguments that install it where a runtime lacks it.
RUNTIME_LACKS = {
    # on TPU runtimes, beside their jax, libtpu and protobuf
    "tensorflow": ("tensorflow-cpu==2.20.0",),
    # Without its dependencies, which would upgrade Colab's absl-py and urllib3 (see above).
    "tensorboard_plugin_profile": (
        "--no-deps",
        "tensorboard-plugin-profile==2.24.2",
        "xprof==2.24.2",
    ),
}
PIP = (sys.executable, "-m", "pip")


def pinned(name: str) -> str:
    """``name==version``: the requirement a runtime lacking the package ``name`` gets."""
    return next(
        word for words in RUNTIME_LACKS.values() for word in words if word.split("==")[0] == name
    )


def missing() -> list[tuple[str, ...]]:
    """The pip arguments of each module the runtime lacks; an installed one is left as it is."""
    return [
        wanted
        for module, wanted in RUNTIME_LACKS.items()
        if importlib.util.find_spec(module) is None
    ]


def hosted() -> bool:
    """Whether this runs on Colab or Kaggle (the setup cell's own test)."""
    return "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ


def set_up() -> list[tuple[str, ...]]:
    """Install what the runtime lacks and make ``helpers`` importable; stop with one message on failure."""
    wanted = missing()
    for arguments in wanted:
        done = subprocess.run(
            [*PIP, "install", "--quiet", *arguments], capture_output=True, text=True
        )
        if done.returncode:
            said = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            raise SystemExit(
                f"Could not install {' '.join(arguments)} (pip: {said}). Check that the notebook "
                "can reach the internet (on Kaggle: Settings, Internet on), then run this cell again."
            )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT / "notebooks")
    return wanted
