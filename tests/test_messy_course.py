"""The whole course, on Colab's runtime, survives a small, unbalanced, messy folder and loses no good image.

And memory stays bounded however many huge images a folder holds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from colab_venv import run_as_colab
from messy_dataset import make_messy_dataset, write_huge_images

from helpers.config import ROOT
from helpers.results import load_results
from helpers.runner import course_notebooks


@pytest.fixture(scope="module")
def messy(quick_dataset, tmp_path_factory):
    """Three small classes of the quick dataset plus every kind of trouble, and which files are good."""
    root = tmp_path_factory.mktemp("messy") / "my photos"
    return root, make_messy_dataset(quick_dataset, root)


def test_the_scan_knows_every_file(messy):
    from helpers.scan import scan_folder

    root, kinds = messy
    report = scan_folder(root, progress=False)
    assert {f.path.relative_to(root).as_posix() for f in report.good} == kinds["good"]
    assert {f.path.relative_to(root).as_posix() for f in report.bad} == kinds["bad"]
    assert {p.relative_to(root).as_posix() for p in report.ignored} == kinds["ignored"]
    view = report.usable_root()
    assert sorted(p.name for p in view.iterdir()) == report.classes  # the empty class too
    assert sum(1 for p in view.rglob("*") if p.is_file()) == len(kinds["good"])


@pytest.fixture(scope="module")
def whole_course(messy, request, tmp_path_factory) -> tuple[Path, str]:
    """Every notebook, top to bottom, on the messy folder: the run's results folder and what notebook 00 printed.

    On Colab's runtime (tests/colab_venv.py), setup cell included, each notebook in a fresh working
    folder as a new Colab session would run it. Where Python 3.13 is missing (outside CI, where that
    fails), in this venv, through ``helpers.course run``.
    """
    root, _ = messy
    out = tmp_path_factory.mktemp("whole course")
    try:
        venv = request.getfixturevalue("colab_venv")
    except pytest.skip.Exception:
        return run_here(root, out)
    return run_on_colab(venv, request.getfixturevalue("published_url"), root, out)


def run_on_colab(venv: Path, url: str, root: Path, out: Path) -> tuple[Path, str]:
    folders = {name: str(out / name) for name in ("data", "logs", "results")}
    env = {
        "COURSE_DATASET": str(root),
        **{f"COURSE_{name.upper()}_DIR": path for name, path in folders.items()},
    }
    printed = {}
    for notebook in course_notebooks():
        done = run_as_colab(venv, notebook.stem, url, out / "sessions" / notebook.stem, env)
        output = done.stdout + done.stderr
        assert done.returncode == 0 and "Traceback" not in output, (
            f"{notebook.stem} on Colab's runtime:\n{output[-4000:]}"
        )
        printed[notebook.stem] = done.stdout
    return out / "results", printed["00_setup_and_data"]


def run_here(root: Path, out: Path) -> tuple[Path, str]:
    run = subprocess.run(
        [sys.executable, "-m", "helpers.course", "run", "--dataset", str(root), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    setup = nbformat.read(out / "00_setup_and_data.ipynb", 4)
    printed = "".join(
        output.get("text", "")
        for cell in setup.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    return out / "results", printed


def test_every_notebook_runs_on_a_messy_folder_and_uses_every_good_image(messy, whole_course):
    _, kinds = messy
    results, setup_printed = whole_course
    found = load_results(results)
    scan = found.pop("00_setup_and_data")["numbers"]["scan"]
    assert (scan["good_images"], scan["bad_files"]) == (len(kinds["good"]), len(kinds["bad"]))
    pipelines = {
        name: result["pipelines"][0] for name, result in found.items() if result["pipelines"]
    }
    assert len(pipelines) >= 7, sorted(found)
    # ImageDataGenerator's flow_from_directory: no GIF
    legacy_reads = (".png", ".jpg", ".jpeg", ".bmp")
    for name, figures in pipelines.items():
        expected = (
            kinds["good"]
            if name != "01_image_data_generator"
            else {f for f in kinds["good"] if f.lower().endswith(legacy_reads)}
        )
        assert figures["images_used"] == len(expected), name
    for relpath in kinds["bad"]:  # notebook 00 says which files it skipped, and why
        assert f"skipped {relpath}: " in setup_printed


PEAK_OF = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from pathlib import Path
import tensorflow as tf
from helpers import measure, tfrecords
from helpers.memory import peak_memory
from helpers.scan import scan_folder

folder, work = Path(sys.argv[1]), Path(sys.argv[2])
with peak_memory() as memory:
    report = scan_folder(folder, progress=False)
    paths, labels = report.good_files()
    if sys.argv[3] == "pipeline":  # the course's file pipeline: read, decode, resize in parallel, batch, prefetch
        dataset = (tf.data.Dataset.from_tensor_slices(paths)
                   .map(lambda path: measure.decode_and_resize(tf.io.read_file(path), 128),
                        num_parallel_calls=tf.data.AUTOTUNE).batch(4).prefetch(tf.data.AUTOTUNE))
        assert sum(len(batch) for batch in dataset) == len(paths)
    else:  # the pre-resized TFRecord writer
        assert tfrecords.write_tfrecords(work, paths, labels, report.classes, folder, image_size=128,
                                         progress=False).records == len(paths)
print(memory.raised_mib)
"""


@pytest.mark.parametrize("what", ["pipeline", "tfrecords"])
def test_memory_stays_bounded_however_many_huge_images(quick_dataset, tmp_path, what):
    """Decoding four or sixteen images of 4800 x 3200 px raises the peak alike: a few are held at once, not all."""
    raised = {}
    for count in (4, 16):
        folder = tmp_path / f"{count}_huge"
        write_huge_images(folder, count, quick_dataset)
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(PEAK_OF),
                str(folder),
                str(tmp_path / f"records{count}"),
                what,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert child.returncode == 0, child.stderr[-2000:]
        raised[count] = float(child.stdout.split()[-1])
    decoded_mib = 4800 * 3200 * 3 / 2**20  # one image, decoded to uint8
    print(
        f"{what}: peak memory raised by {raised[4]:,.0f} MiB for 4 huge images, {raised[16]:,.0f} MiB for 16 "
        f"({decoded_mib:,.0f} MiB each, decoded)"
    )
    assert raised[16] - raised[4] < 6 * decoded_mib  # holding all 12 more would take 12 x as much
