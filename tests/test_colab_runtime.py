"""Colab's own runtime (tests/colab_venv.py): the setup cell's install and the Profile tab there.

Every notebook runs on Colab's versions, setup cell included, in the whole-course run of
tests/test_messy_course.py. Here: a wrong address stops the setup cell with what to do; after the
setup cell's install alone, no package but the plugin's two has changed; and the venv's TensorBoard
serves a capture made by its TensorFlow in the Profile tab's trace viewer.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from colab_venv import canonical, run_as_colab
from playwright.sync_api import expect
from servers import OPENER, serve
from test_browser import browser, open_trace_viewer  # noqa: F401 (a fixture)

from helpers import colab
from helpers.processes import free_port
from helpers.profiling import STEP_TRACE

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tensorboard-plugin-profile"


def freeze(venv: Path) -> dict[str, str]:
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        canonical(name): version
        for name, version in re.findall(r"^(\S+)==(\S+)$", listed, re.MULTILINE)
    }


def test_setup_cell_on_colabs_runtime_stops_at_a_wrong_address(colab_venv, tmp_path) -> None:
    wrong = (tmp_path / "nowhere").as_uri()
    done = run_as_colab(colab_venv, "00_setup_and_data", wrong, tmp_path)
    output = done.stdout + done.stderr
    assert f"No course at {wrong}: fix URL, or unzip it to course/" in output
    assert "ModuleNotFoundError" not in output and "scale quick" not in done.stdout


# The Profile tab on Colab's runtime: the setup cell's install, then TensorBoard on a capture.


@pytest.fixture(scope="module")
def plugin_installed(colab_venv) -> tuple[dict[str, str], dict[str, str]]:
    """The venv's packages before and after the setup cell's install of the profile plugin."""
    python = str(colab_venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "uninstall", "--quiet", "--yes", PLUGIN, "xprof"],
        capture_output=True,
        check=True,
    )
    before = freeze(colab_venv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [python, "-c", "from helpers import colab; colab.set_up()"],
        env=env,
        check=True,
        timeout=600,
    )
    return before, freeze(colab_venv)


def test_setup_cell_adds_the_plugin_and_changes_nothing_else(plugin_installed) -> None:
    before, after = plugin_installed
    added = {name: version for name, version in after.items() if name not in before}
    changed = {
        name: (version, after.get(name))
        for name, version in before.items()
        if after.get(name) != version
    }
    assert added == {
        PLUGIN: colab.pinned(PLUGIN).split("==")[1],
        "xprof": colab.pinned("xprof").split("==")[1],
    }
    assert changed == {}, f"the setup cell changed Colab's packages: {changed}"


# A few steps traced as notebook 01 teaches, by Colab's TensorFlow.
CAPTURE = """
import keras, numpy as np, tensorflow as tf
from helpers.profiling import StepProfiler
batch = np.zeros((8, 16, 16, 3), np.float32), np.zeros(8, np.int64)
net = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(5)])
net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
net.fit(tf.data.Dataset.from_tensors(batch).repeat(), epochs=1, steps_per_epoch=7, verbose=0,
        callbacks=[StepProfiler("colab", "steps", (2, 4), seconds=0)])
"""


@pytest.fixture(scope="module")
def colab_tensorboard(
    colab_venv, plugin_installed, tmp_path_factory
) -> Iterator[tuple[str, Path, Path]]:
    """Colab's TensorBoard, with the plugin as the setup cell installs it, over a capture made by Colab's
    TensorFlow: its URL, the run's folder and TensorBoard's log."""
    logs = tmp_path_factory.mktemp("colab-logs")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COURSE_LOGS_DIR": str(logs),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    python = str(colab_venv / "bin" / "python")
    subprocess.run([python, "-c", CAPTURE], env=env, check=True, timeout=600, capture_output=True)
    port = free_port()
    log = logs.parent / "colab-tensorboard.log"
    command = [
        python,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(logs / "colab"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
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
    assert plugin.get("enabled") is True and "Failed to load plugin" not in said, (
        f"no Profile tab:\n{said[-2000:]}"
    )
    assert read_json(f"{url}/data/plugin/profile/runs") == [f"{run.name}/{capture.name}"]
    host = next(capture.glob("*.xplane.pb")).name.removesuffix(".xplane.pb")
    query = urllib.parse.urlencode(
        {"run": f"{run.name}/{capture.name}", "tag": "trace_viewer", "host": host}
    )
    events = read_json(f"{url}/data/plugin/profile/data?{query}")["traceEvents"]
    steps = sorted(
        event["name"] for event in events if event.get("name", "").startswith(f"{STEP_TRACE} ")
    )
    # the step markers, one per traced step
    assert steps == [f"{STEP_TRACE} {step}" for step in (2, 3, 4)]


def test_profile_tab_on_colabs_runtime_finds_the_steps(browser, colab_tensorboard) -> None:  # noqa: F811
    url, run, _ = colab_tensorboard
    trace = open_trace_viewer(browser.new_page(), url, run.name)
    trace.get_by_placeholder("Find Events...").fill(STEP_TRACE)
    expect(trace.locator("#hitCount")).to_have_text(re.compile(r"\bof 3$"))  # steps 2 to 4
