"""Colab's own runtime: the setup cell and the first notebooks on Colab's published versions.

A Python 3.13 venv holding what the course imports from Colab's runtime (``COLAB_SHIPS``) at
tests/colab_runtime.txt's versions is built once into a cache folder outside the repository
(``$XDG_CACHE_HOME`` or ``~/.cache``, then ``fast-image-pipelines/``), named after the list's
contents so that editing the list builds a new one. The profiler plugin is installed with it, so
that what it needs from Colab's packages (gcsfs, etils...) is there at Colab's versions, and
removed before each run: the setup cell must install it, as on Colab. Each notebook's code runs
in IPython as a script (shell lines and magics included) in a fresh working folder, with a
stand-in ``google.colab`` module and the setup cell's address pointed at a repository made from
this checkout. The subset: notebooks 00 and 01 (the data, the throughput loop and a trace
summary), to keep the test command's time.

Where pyenv's Python 3.13 is missing the test skips with the reason; in CI (``CI=true``) it fails.
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

from helpers import colab
from helpers.config import repository_url
from published_course import publish

ROOT = Path(__file__).resolve().parents[1]
COLAB_RUNTIME = Path(__file__).with_name("colab_runtime.txt")
# What the course imports, all shipped by Colab, and pip itself: a venv's own pip is not Colab's.
COLAB_SHIPS = ["tensorflow", "keras", "tensorboard", "ipython", "matplotlib", "pillow", "scipy", "tqdm", "psutil", "pip"]
PLUGIN = "tensorboard-plugin-profile"
SUBSET = ["00_setup_and_data", "01_image_data_generator"]
NOTEBOOK_TIMEOUT = 900  # seconds: each takes a minute or two at quick scale


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def python_313() -> Path:
    """pyenv's newest Python 3.13."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        _missing("pyenv is not installed: Colab's Python 3.13 is out of reach")
    found = sorted(Path(root, "versions").glob("3.13*/bin/python"))
    if not found:
        _missing(f"pyenv has no Python 3.13 (`pyenv install 3.13`); it has {sorted(os.listdir(Path(root, 'versions')))}")
    return found[-1]


@pytest.fixture(scope="module")
def colab_venv() -> Path:
    """The cached venv with Colab's versions, built on first use."""
    python = python_313()
    contents = " ".join([COLAB_RUNTIME.read_text(), *COLAB_SHIPS, colab.pinned(PLUGIN)])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fast-image-pipelines"
    venv = cache / f"colab-runtime-{hashlib.sha256(contents.encode()).hexdigest()[:12]}"
    if not (venv / "complete").is_file():
        for stale in cache.glob("colab-runtime-*"):  # built from an older list: a few GB each
            shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                               "-c", str(COLAB_RUNTIME), *COLAB_SHIPS, colab.pinned(PLUGIN)],
                              capture_output=True, text=True, timeout=1800)
        if done.returncode:
            _missing(f"could not build Colab's runtime (offline?): {done.stderr.strip().splitlines()[-1:]}")
        (venv / "complete").write_text("built from tests/colab_runtime.txt\n")
    return venv


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> str:
    """A repository made from this checkout's files, on a branch named after the course's ref: its address."""
    return publish(tmp_path_factory.mktemp("published") / "course").as_uri()


def run_as_colab(venv: Path, notebook: str, url: str, folder: Path) -> subprocess.CompletedProcess:
    """A notebook's code cells, top to bottom, in the venv's IPython, as Colab would run them."""
    stand_in = folder / "stand-in" / "google" / "colab"
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text('"""A stand-in for Colab\'s own module."""\n')
    cells = [cell.source for cell in nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4).cells
             if cell.cell_type == "code"]
    script = folder / f"{notebook}.ipy"
    script.write_text("\n\n".join(["import google.colab", *cells]).replace(repository_url(), url) + "\n")
    (folder / "content").mkdir()
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=str(folder / "stand-in"), MPLBACKEND="Agg", COURSE_SCALE="quick",
               COURSE_DATASET="embedded", TF_CPP_MIN_LOG_LEVEL="3")
    for variable in ("COURSE_DATA_DIR", "COURSE_LOGS_DIR", "COURSE_RESULTS_DIR"):
        env.pop(variable, None)
    return subprocess.run([str(venv / "bin" / "ipython"), "--no-banner", "--colors=NoColor", str(script)],
                          cwd=folder / "content", env=env, capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT)


def freeze(venv: Path) -> dict[str, str]:
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout
    return {re.sub(r"[-_.]+", "-", name).lower(): version
            for name, version in re.findall(r"^(\S+)==(\S+)$", listed, re.MULTILINE)}


@pytest.mark.parametrize("notebook", SUBSET)
def test_notebook_runs_on_colabs_runtime(notebook, colab_venv, published, tmp_path) -> None:
    subprocess.run([str(colab_venv / "bin" / "python"), "-m", "pip", "uninstall", "--quiet", "--yes",
                    PLUGIN, "xprof"], capture_output=True, check=True)  # the cell installs it
    done = run_as_colab(colab_venv, notebook, published, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Traceback" not in output, f"{notebook} on Colab's runtime:\n{output[-4000:]}"
    assert f"{notebook} · scale quick" in done.stdout
    assert (tmp_path / "content" / "course" / "helpers").is_dir()
    listed = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in
              re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", COLAB_RUNTIME.read_text(), re.MULTILINE)}
    installed = freeze(colab_venv)
    changed = {name: (version, installed[name]) for name, version in listed.items()
               if name in installed and installed[name] != version}
    assert changed == {}, f"the setup cell changed Colab's packages: {changed}"
    assert installed[PLUGIN] == colab.pinned(PLUGIN).split("==")[1]


def test_setup_cell_on_colabs_runtime_stops_at_a_wrong_address(colab_venv, tmp_path) -> None:
    wrong = (tmp_path / "nowhere").as_uri()
    done = run_as_colab(colab_venv, SUBSET[0], wrong, tmp_path)
    output = done.stdout + done.stderr
    assert f"No course at {wrong}: fix URL, or unzip it to course/" in output
    assert "ModuleNotFoundError" not in output and "scale quick" not in done.stdout
