"""The whole course survives a small, unbalanced, messy folder and loses no good image; memory stays bounded on huge ones."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import nbformat
import pytest

from helpers.config import ROOT
from helpers.results import load_results
from messy_dataset import make_messy_dataset, write_huge_images


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


def test_every_notebook_runs_on_a_messy_folder_and_uses_every_good_image(messy, tmp_path):
    root, kinds = messy
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "helpers.course", "run", "--dataset", str(root), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = load_results(out / "results")
    setup = found.pop("00_setup_and_data")["numbers"]
    assert (setup["good_images"], setup["bad_files"]) == (len(kinds["good"]), len(kinds["bad"]))
    pipelines = {name: result["numbers"] for name, result in found.items() if "pipeline" in result["numbers"]}
    assert len(pipelines) >= 7, sorted(found)
    legacy_reads = (".png", ".jpg", ".jpeg", ".bmp")  # ImageDataGenerator's flow_from_directory: no GIF
    for name, numbers in pipelines.items():
        expected = kinds["good"] if name != "01_image_data_generator" else \
            {f for f in kinds["good"] if f.lower().endswith(legacy_reads)}
        assert numbers.get("images_used") == len(expected), name
    # Notebook 00 says which files it skipped, and why.
    scan_output = "".join(output.get("text", "") for cell in nbformat.read(out / "00_setup_and_data.ipynb", 4).cells
                          if cell.cell_type == "code" for output in cell.outputs)
    for relpath in kinds["bad"]:
        assert f"skipped {relpath}: " in scan_output


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
        child = subprocess.run([sys.executable, "-c", textwrap.dedent(PEAK_OF), str(folder), str(tmp_path / f"records{count}"),
                                what], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert child.returncode == 0, child.stderr[-2000:]
        raised[count] = float(child.stdout.split()[-1])
    decoded_mib = 4800 * 3200 * 3 / 2**20  # one image, decoded to uint8
    print(f"{what}: peak memory raised by {raised[4]:,.0f} MiB for 4 huge images, {raised[16]:,.0f} MiB for 16 "
          f"({decoded_mib:,.0f} MiB each, decoded)")
    assert raised[16] - raised[4] < 6 * decoded_mib  # holding all 12 more would take 12 x as much
