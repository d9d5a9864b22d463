"""A notebook's start: its settings, and Keras' backend chosen before Keras is imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers.config import ROOT, start

IMPORT_AFTER_START = (
    "from helpers.config import start\nstart('09_tfrecords_on_tpu')\n"
    "import keras\nprint(keras.backend.backend())"
)


def test_start_chooses_the_keras_backend_before_keras_is_imported():
    env = {name: value for name, value in os.environ.items() if name != "KERAS_BACKEND"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AFTER_START],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "jax"


def test_start_stops_when_keras_already_runs_on_another_backend(monkeypatch):
    import keras

    assert keras.backend.backend() == "tensorflow"  # this test process's Keras
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(RuntimeError, match="restart the kernel"):
        start("09_tfrecords_on_tpu")


def test_other_notebooks_leave_keras_alone(monkeypatch, capsys):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert start("03_x").notebook == "03_x"
    assert "KERAS_BACKEND" not in os.environ
    assert capsys.readouterr().out.startswith("03_x · scale quick")
