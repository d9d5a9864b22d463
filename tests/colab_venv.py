"""Colab's own runtime, rebuilt here: a venv of its published versions, and notebooks run in it as Colab would.

A Python 3.13 venv holding what the course imports from Colab's runtime (``COLAB_SHIPS``) at
tests/colab_runtime.txt's versions is built once into a cache folder outside the repository
(``$XDG_CACHE_HOME`` or ``~/.cache``, then ``fast-image-pipelines/``), named after the list's
contents so that editing the list builds a new one. What the profiler plugin imports of Colab's
packages (etils, fsspec...) is there at Colab's versions; the plugin itself is not: the setup cell
installs it, as on Colab, without dependencies. ``run_as_colab`` runs a notebook's code cells in
the venv's IPython as a script (shell lines and magics included) in a fresh working folder, with a
stand-in ``google.colab`` module and the setup cell's address pointed at a repository made from
this checkout.

Where pyenv's Python 3.13 is missing, ``python_313`` skips the test with the reason; in CI
(``CI=true``) it fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from helpers.config import ROOT
from helpers.publishing import repository_url

COLAB_RUNTIME = Path(__file__).with_name("colab_runtime.txt")
# What the course imports, all shipped by Colab (JAX too: notebook 09's Keras backend), and pip
# itself: a venv's own pip is not Colab's.
COLAB_SHIPS = [
    "tensorflow",
    "keras",
    "tensorboard",
    "jax",
    "ipython",
    "matplotlib",
    "pillow",
    "scipy",
    "tqdm",
    "psutil",
    "pip",
]
# What the profile plugin imports of Colab's packages: its --no-deps install brings none of them.
PLUGIN_USES = ["etils[epath]", "fsspec[gcs]", "six", "werkzeug"]
NOTEBOOK_TIMEOUT = 900  # seconds: each takes a minute or two at quick scale
# Colab's own module, as far as the course and JAX touch it: JAX imports its `output` when it sees
# `google.colab`, for its debugger.
STAND_IN = {
    "__init__.py": '"""A stand-in for Colab\'s own module."""\n',
    "output.py": '"""A stand-in for Colab\'s output module (JAX\'s debugger imports it)."""\n',
}


def canonical(name: str) -> str:
    """A package's name as pip compares names: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def missing(reason: str) -> None:
    """Skip with the reason; fail in CI, where nothing may be missing."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def python_313() -> Path:
    """pyenv's newest Python 3.13."""
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        missing("pyenv is not installed: Colab's Python 3.13 is out of reach")
    found = sorted(Path(root, "versions").glob("3.13*/bin/python"))
    if not found:
        missing(
            f"pyenv has no Python 3.13 (`pyenv install 3.13`); it has {sorted(os.listdir(Path(root, 'versions')))}"
        )
    return found[-1]


def colab_venv() -> Path:
    """The cached venv with Colab's versions, built on first use."""
    python = python_313()
    contents = " ".join([COLAB_RUNTIME.read_text(), *COLAB_SHIPS, *PLUGIN_USES])
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fast-image-pipelines"
    )
    venv = cache / f"colab-runtime-{hashlib.sha256(contents.encode()).hexdigest()[:12]}"
    if not (venv / "complete").is_file():
        for stale in cache.glob("colab-runtime-*"):  # built from an older list: a few GB each
            shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
        done = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-c",
                str(COLAB_RUNTIME),
                *COLAB_SHIPS,
                *PLUGIN_USES,
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode:
            missing(
                f"could not build Colab's runtime (offline?): {done.stderr.strip().splitlines()[-1:]}"
            )
        (venv / "complete").write_text("built from tests/colab_runtime.txt\n")
    return venv


def run_as_colab(
    venv: Path, notebook: str, url: str, folder: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """A notebook's code cells, top to bottom, in the venv's IPython, as Colab would run them.

    ``folder`` is fresh: it gets the stand-in module and ``content/``, Colab's working folder. The
    run is at quick scale on the embedded dataset, its data, logs and results inside the clone,
    unless ``env`` says otherwise.
    """
    stand_in = folder / "stand-in" / "google" / "colab"
    stand_in.mkdir(parents=True)
    for name, text in STAND_IN.items():
        (stand_in / name).write_text(text)
    cells = [
        cell.source
        for cell in nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4).cells
        if cell.cell_type == "code"
    ]
    script = folder / f"{notebook}.ipy"
    script.write_text(
        "\n\n".join(["import google.colab", *cells]).replace(repository_url(), url) + "\n"
    )
    (folder / "content").mkdir()
    variables = {
        name: value
        for name, value in os.environ.items()
        if name
        not in (
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "COURSE_DATA_DIR",
            "COURSE_LOGS_DIR",
            "COURSE_RESULTS_DIR",
        )
    }
    variables.update(
        {
            "PYTHONPATH": str(folder / "stand-in"),
            "MPLBACKEND": "Agg",
            "COURSE_SCALE": "quick",
            "COURSE_DATASET": "embedded",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **(env or {}),
        }
    )
    return subprocess.run(
        [str(venv / "bin" / "ipython"), "--no-banner", "--colors=NoColor", str(script)],
        cwd=folder / "content",
        env=variables,
        capture_output=True,
        text=True,
        timeout=NOTEBOOK_TIMEOUT,
    )
