"""Colab's own runtime: the setup cell and the first notebooks on Colab's published versions.

A Python 3.13 venv holding what the course imports from Colab's runtime (``COLAB_SHIPS``) at
tests/colab_runtime.txt's versions is built once into a cache folder outside the repository
(``$XDG_CACHE_HOME`` or ``~/.cache``, then ``fast-image-pipelines/``), named after the list's
contents so that editing the list builds a new one. What the profiler plugin imports of Colab's
packages (etils, fsspec...) is there at Colab's versions; the plugin itself is removed before each
run: the setup cell must install it, as on Colab, without dependencies. Each notebook's code runs
in IPython as a script (shell lines and magics included) in a fresh working folder, with a
stand-in ``google.colab`` module and the setup cell's address pointed at a repository made from
this checkout. The subset: notebooks 00 and 01 (the data, the throughput loop and a trace
summary), to keep the test command's time. After the setup cell's install alone, no package but the
plugin's two has changed, and the venv's TensorBoard serves a capture made by its TensorFlow in the
Profile tab's trace viewer.

Where pyenv's Python 3.13 is missing the test skips with the reason; in CI (``CI=true``) it fails.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from helpers import colab
from helpers.publishing import repository_url
from helpers.processes import free_port
from helpers.profiling import STEP_TRACE
from published_course import publish
from servers import OPENER, serve
from test_browser import browser, open_trace_viewer  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]
COLAB_RUNTIME = Path(__file__).with_name("colab_runtime.txt")
# What the course imports, all shipped by Colab, and pip itself: a venv's own pip is not Colab's.
COLAB_SHIPS = ["tensorflow", "keras", "tensorboard", "ipython", "matplotlib", "pillow", "scipy", "tqdm", "psutil", "pip"]
PLUGIN = "tensorboard-plugin-profile"
# What the profile plugin imports of Colab's packages: its --no-deps install brings none of them.
PLUGIN_USES = ["etils[epath]", "fsspec[gcs]", "six", "werkzeug"]
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
    contents = " ".join([COLAB_RUNTIME.read_text(), *COLAB_SHIPS, *PLUGIN_USES])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fast-image-pipelines"
    venv = cache / f"colab-runtime-{hashlib.sha256(contents.encode()).hexdigest()[:12]}"
    if not (venv / "complete").is_file():
        for stale in cache.glob("colab-runtime-*"):  # built from an older list: a few GB each
            shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                               "-c", str(COLAB_RUNTIME), *COLAB_SHIPS, *PLUGIN_USES],
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


# The Profile tab on Colab's runtime: the setup cell's install, then TensorBoard on a capture.

@pytest.fixture(scope="module")
def plugin_installed(colab_venv) -> tuple[dict[str, str], dict[str, str]]:
    """The venv's packages before and after the setup cell's install of the profile plugin."""
    python = str(colab_venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "uninstall", "--quiet", "--yes", PLUGIN, "xprof"],
                   capture_output=True, check=True)
    before = freeze(colab_venv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([python, "-c", "from helpers import colab; colab.set_up()"], env=env, check=True, timeout=600)
    return before, freeze(colab_venv)


def test_setup_cell_adds_the_plugin_and_changes_nothing_else(plugin_installed) -> None:
    before, after = plugin_installed
    added = {name: version for name, version in after.items() if name not in before}
    changed = {name: (version, after.get(name)) for name, version in before.items() if after.get(name) != version}
    assert added == {PLUGIN: colab.pinned(PLUGIN).split("==")[1], "xprof": colab.pinned("xprof").split("==")[1]}
    assert changed == {}, f"the setup cell changed Colab's packages: {changed}"


# A few steps traced as notebook 01 teaches, by Colab's TensorFlow.
CAPTURE = """
import keras, numpy as np, tensorflow as tf
from helpers.profiling import StepProfiler
batch = np.zeros((8, 16, 16, 3), np.float32), np.zeros(8, np.int64)
net = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(5)])
net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
net.fit(tf.data.Dataset.from_tensors(batch).repeat(), epochs=1, steps_per_epoch=7, verbose=0,
        callbacks=[StepProfiler("colab", "steps", (2, 4))])
"""


@pytest.fixture(scope="module")
def colab_tensorboard(colab_venv, plugin_installed, tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """Colab's TensorBoard, with the plugin as the setup cell installs it, over a capture made by Colab's
    TensorFlow: its URL, the run's folder and TensorBoard's log."""
    logs = tmp_path_factory.mktemp("colab-logs")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COURSE_LOGS_DIR": str(logs), "TF_CPP_MIN_LOG_LEVEL": "3"}
    python = str(colab_venv / "bin" / "python")
    subprocess.run([python, "-c", CAPTURE], env=env, check=True, timeout=600, capture_output=True)
    port = free_port()
    log = logs.parent / "colab-tensorboard.log"
    command = [python, "-m", "tensorboard.main", "--logdir", str(logs / "colab"), "--host", "127.0.0.1",
               "--port", str(port)]
    with serve(command, f"http://127.0.0.1:{port}/data/plugins_listing", log):
        yield f"http://127.0.0.1:{port}", logs / "colab" / "steps", log


def read_json(url: str) -> object:
    """A TensorBoard answer, as JSON."""
    with OPENER.open(url, timeout=120) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return json.loads(body)


def test_colabs_tensorboard_serves_the_trace(colab_tensorboard) -> None:
    url, run, log = colab_tensorboard
    capture = next(run.glob("plugins/profile/*"))
    said = log.read_text(errors="replace")
    plugin = read_json(f"{url}/data/plugins_listing").get("profile", {})
    assert plugin.get("enabled") is True and "Failed to load plugin" not in said, f"no Profile tab:\n{said[-2000:]}"
    assert read_json(f"{url}/data/plugin/profile/runs") == [f"{run.name}/{capture.name}"]
    host = next(capture.glob("*.xplane.pb")).name.removesuffix(".xplane.pb")
    query = urllib.parse.urlencode({"run": f"{run.name}/{capture.name}", "tag": "trace_viewer", "host": host})
    events = read_json(f"{url}/data/plugin/profile/data?{query}")["traceEvents"]
    steps = sorted(event["name"] for event in events if event.get("name", "").startswith(f"{STEP_TRACE} "))
    assert steps == [f"{STEP_TRACE} {step}" for step in (2, 3, 4)]  # the step markers, one per traced step


def test_profile_tab_on_colabs_runtime_finds_the_steps(browser, colab_tensorboard) -> None:
    url, run, _ = colab_tensorboard
    trace = open_trace_viewer(browser.new_page(), url, run.name)
    trace.get_by_placeholder("Find Events...").fill(STEP_TRACE)
    expect(trace.locator("#hitCount")).to_have_text(re.compile(r"\bof 3$"))  # steps 2 to 4
