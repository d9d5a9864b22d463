"""The learner's path in a real browser: notebook 00 in JupyterLab, captures in TensorBoard's Profile tab.

Headless Chromium, driven by Playwright. ``python3 -m helpers.course test`` installs Debian's
Chromium as root; without a Chromium these tests skip, except on CI, where they fail.
``COURSE_UPDATE_SCREENSHOTS=1`` saves the README's trace picture from the real run below.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
import tensorflow as tf
from playwright.sync_api import BrowserContext, FrameLocator, Page, expect, sync_playwright
from servers import serve

from helpers.processes import free_port
from helpers.profiling import STEP_TRACE, StepProfiler

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_setup_and_data.ipynb"
TITLE = "00 · Setup and data"
TRACE_PICTURE = ROOT / "notebooks" / "figures" / "profile_trace.png"
RUN = "late_batches"
# notebook 09's capture: Keras on JAX over eight simulated devices, JAX's profiler
JAX_RUN = "jax_devices"
# a step run on device 7
EIGHTH_DEVICE_STEP = "[7] CommonPjRtLoadedExecutable::Execute (jit_train_step)"
STEPS = (2, 4)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own calls home would otherwise be refused by a closed network
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile, shared by the module's tests."""
    executable = shutil.which("chromium")
    if executable is None:
        reason = "no Chromium on PATH (`python3 -m helpers.course test` installs Debian's when run as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # CI's set-up installs it: a missing browser means a broken set-up
        pytest.skip(reason)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium"),
            executable_path=executable,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 800},
        )
        context.set_default_timeout(WAIT_MS)
        # pages render well after they load, slower on a busy machine
        expect.set_options(timeout=WAIT_MS)
        yield context
        context.close()


def image_outputs(path: Path) -> int:
    """How many figures a notebook's committed outputs hold."""
    cells = nbformat.read(path, as_version=4).cells
    return sum(
        any(kind.startswith("image/") for kind in output.get("data", {}))
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def test_notebook_renders_in_jupyterlab(browser: BrowserContext, tmp_path: Path) -> None:
    port, token = free_port(), secrets.token_hex(16)
    # its settings, runtime files and checkpoints: none in the course or home
    jupyter = tmp_path / "jupyter"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={NOTEBOOK.parent}",
        f"--FileCheckpoints.checkpoint_dir={jupyter / 'checkpoints'}",
        # Jupyter refuses root without it (containers, CI) and ignores it otherwise
        "--allow-root",
    ]
    with serve(
        command,
        f"http://127.0.0.1:{port}/api/status?token={token}",
        tmp_path / "jupyterlab.log",
        env,
    ):
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}?token={token}")
        expect(page.locator(".jp-RenderedMarkdown h1", has_text=TITLE)).to_be_visible()
        # A figure counts once its PNG has decoded: an img that failed to load has no width.
        page.wait_for_function(
            """expected => [...document.querySelectorAll(".jp-OutputArea-output img")]
                                  .filter(img => img.complete && img.naturalWidth > 0).length >= expected""",
            arg=image_outputs(NOTEBOOK),
        )
        page.screenshot(path=tmp_path / "jupyterlab.png")


def late_batch(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Make every batch 20 ms late, so the trace shows steps waiting for input."""
    tf.py_function(lambda: time.sleep(0.02), [], [])
    return images, labels


# Keras reads its backend once per process, so the JAX capture is made in a Python of its own.
JAX_CAPTURE = f"""
import sys, jax, keras, numpy as np
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
net = keras.Sequential([keras.Input((32, 32, 3), dtype="uint8"), keras.layers.Rescaling(1 / 255),
                        keras.layers.Flatten(), keras.layers.Dense(5)])
net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
batch = np.zeros((32, 32, 32, 3), np.uint8), np.zeros(32, np.int64)
net.train_on_batch(*batch)  # compiles the step before the capture
options = jax.profiler.ProfileOptions()
options.python_tracer_level = 0  # no Python calls: "train_on_batch" would be found as "train" too
with jax.profiler.trace(sys.argv[1], profiler_options=options):
    for step in range({STEPS[0]}, {STEPS[1] + 1}):
        with jax.profiler.StepTraceAnnotation("{STEP_TRACE}", step_num=step):
            net.train_on_batch(*batch)
"""


@pytest.fixture(params=["tensorflow", "jax"])
def capture(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A few profiled training steps; returns the run's folder. TensorFlow's profiler on a tiny model fed
    by a slow pipeline, or JAX's on notebook 09's road, Keras on JAX over eight simulated devices."""
    if request.param == "jax":
        logdir = tmp_path / "logs" / JAX_RUN
        env = {
            **os.environ,
            "KERAS_BACKEND": "jax",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        }
        subprocess.run(
            [sys.executable, "-c", JAX_CAPTURE, str(logdir)], env=env, check=True, timeout=300
        )
        return logdir
    monkeypatch.setenv("COURSE_LOGS_DIR", str(tmp_path / "logs"))
    rng = np.random.default_rng(0)
    batch = (rng.random((32, 32, 32, 3), dtype=np.float32), rng.integers(0, 5, 32))
    data = tf.data.Dataset.from_tensors(batch).repeat().map(late_batch).prefetch(1)
    net = keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(5)]
    )
    net.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    profiler = StepProfiler("browser", RUN, STEPS, seconds=0)  # the window ends at its last step
    net.fit(
        data, epochs=1, steps_per_epoch=STEPS[1] + 2, shuffle=False, callbacks=[profiler], verbose=0
    )
    return profiler.logdir


def test_profile_tab_shows_the_capture(
    browser: BrowserContext, capture: Path, tmp_path: Path
) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(capture.parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with serve(
        command, f"http://127.0.0.1:{port}/data/plugin/profile/runs", tmp_path / "tensorboard.log"
    ):
        page = browser.new_page()
        trace = open_trace_viewer(page, f"http://127.0.0.1:{port}", capture.name)
        shot = picture_path(tmp_path) if capture.name == RUN else tmp_path / "profile_trace.png"
        shot.write_bytes(still_screenshot(page))  # before the search below greys it out
        # Each traced step is a "train <n>" event: the step markers the Profile tab measures steps by.
        # In JAX's capture, each also ran on the eighth device: the batch was split eight ways.
        trace.get_by_placeholder("Find Events...").fill(
            STEP_TRACE if capture.name == RUN else EIGHTH_DEVICE_STEP
        )
        expect(trace.locator("#hitCount")).to_have_text(
            re.compile(rf"\bof {STEPS[1] - STEPS[0] + 1}$")
        )


def open_trace_viewer(page: Page, url: str, run: str) -> FrameLocator:
    """The Profile tab of the TensorBoard at ``url``, its run ``run`` picked as a learner would: the trace viewer."""
    page.goto(f"{url}/#profile")
    xprof = page.frame_locator("iframe")  # the profile plugin's own page
    # the run, listed and chosen
    expect(xprof.locator("mat-select", has_text=f"{run}/")).to_be_visible()
    expect(xprof.get_by_text("Performance Summary")).to_be_visible()  # its overview page
    # the tools, as a learner picks them
    xprof.locator("mat-select", has_text="Overview Page").click()
    xprof.get_by_role("option", name="Trace Viewer").click()
    trace = xprof.frame_locator("iframe")  # the trace viewer, a page inside the plugin's
    expect(trace.locator(".process-track-name", has_text="/host:CPU")).to_be_visible()
    return trace


def still_screenshot(page: Page, tries: int = 20) -> bytes:
    """A screenshot once the page stops changing: the trace viewer zooms to fit after drawing."""
    previous = None
    for _ in range(tries):
        shot = page.screenshot()
        if shot == previous:
            break
        previous = shot
        page.wait_for_timeout(300)
    return shot


def picture_path(tmp_path: Path) -> Path:
    """Where the trace's picture goes: into the README's figure only when asked to update it."""
    if os.environ.get("COURSE_UPDATE_SCREENSHOTS") == "1":
        TRACE_PICTURE.parent.mkdir(exist_ok=True)
        return TRACE_PICTURE
    return tmp_path / "profile_trace.png"
