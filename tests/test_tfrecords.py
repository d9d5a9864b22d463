"""The TFRecord writer and verify step: one record per image, safe to kill, corruption named by shard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import tensorflow as tf

from helpers import tfrecords
from helpers.scan import scan_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def source(quick_dataset):
    """The quick dataset's good files: (root, classes, paths, labels)."""
    report = scan_folder(quick_dataset, progress=False)
    paths, labels = report.good_files()
    return quick_dataset, report.classes, paths, labels


def records(folder: Path, split: str = "train") -> list[dict]:
    manifest = tfrecords.read_manifest(folder, split)
    dataset = tf.data.TFRecordDataset(manifest.files(folder)).map(
        lambda record: tf.io.parse_single_example(record, tfrecords.FEATURES)
    )
    return list(dataset.as_numpy_iterator())


def test_shard_rule():
    assert tfrecords.shard_count(5 * 2**20, 600) == tfrecords.MIN_SHARDS  # small: the minimum wins
    assert tfrecords.shard_count(1050 * 2**20, 100_000) == 11  # large: about 100 MB each
    assert tfrecords.shard_count(10**9, 3) == 3  # never an empty shard


def test_original_bytes_one_record_per_image(source, tmp_path):
    root, classes, paths, labels = source
    manifest = tfrecords.write_tfrecords(
        tmp_path, paths[:50], labels[:50], classes, root, progress=False
    )
    assert manifest.records == 50 and len(manifest.shards) == tfrecords.MIN_SHARDS
    assert sorted(manifest.shards) == [f"train-{i:05d}-of-00010.tfrecord" for i in range(10)]
    assert sum(manifest.per_class.values()) == 50
    stored = records(tmp_path)
    assert [r["source"].decode() for r in stored] == [
        str(Path(p).relative_to(root)) for p in paths[:50]
    ]
    assert [int(r["label"]) for r in stored] == list(labels[:50])
    assert stored[0]["image"] == Path(paths[0]).read_bytes()  # the file's own bytes
    assert tfrecords.verify_tfrecords(tmp_path, paths[:50], labels[:50], root).ok


def test_resized_flavour_holds_small_jpegs(source, tmp_path):
    root, classes, paths, labels = source
    manifest = tfrecords.write_tfrecords(
        tmp_path,
        paths[:20],
        labels[:20],
        classes,
        root,
        image_size=64,
        min_shards=2,
        progress=False,
    )
    image = tf.io.decode_jpeg(records(tmp_path)[0]["image"])
    assert image.shape == (64, 64, 3)
    assert manifest.shard_bytes < sum(os.path.getsize(p) for p in paths[:20]) / 4
    assert manifest.flavour == "resized to 64 px, JPEG"


def test_rerun_reuses_a_complete_write_and_redoes_a_changed_one(source, tmp_path):
    root, classes, paths, labels = source
    first = tfrecords.write_tfrecords(
        tmp_path, paths[:20], labels[:20], classes, root, min_shards=2, progress=False
    )
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = tfrecords.write_tfrecords(
        tmp_path, paths[:20], labels[:20], classes, root, min_shards=2, progress=False
    )
    assert again == first and stamp == {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    changed = tfrecords.write_tfrecords(
        tmp_path, paths[:12], labels[:12], classes, root, min_shards=2, progress=False
    )
    assert changed.records == 12 and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*changed.shards, "train.manifest.json"]
    )


KILLED_WRITE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from helpers import tfrecords
from helpers.scan import scan_folder
report = scan_folder(sys.argv[2], progress=False)
paths, labels = report.good_files()
tfrecords.write_tfrecords(sys.argv[1], paths, labels, report.classes, sys.argv[2], image_size=128,
                          min_shards=4, progress=False)
"""


def test_a_killed_write_leaves_no_partial_shard_and_a_rerun_completes(source, tmp_path):
    root, classes, paths, labels = source
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_WRITE), str(tmp_path), str(root)], cwd=ROOT
    )
    deadline = time.monotonic() + 120
    # Until the first shard has its final name and the second is being written.
    while (
        not (list(tmp_path.glob("train-*")) and list(tmp_path.glob(".train-*")))
        and child.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)  # a real process, killed while it writes the second shard
    assert child.wait() == -signal.SIGKILL
    shards = sorted(tmp_path.glob("train-*.tfrecord"))
    assert len(shards) == 1 and list(tmp_path.glob(".train-00001-*")), (
        "the kill should land mid-write"
    )
    assert tfrecords.read_manifest(tmp_path) is None
    # The shard under its final name is whole: a quarter of the images, every record readable.
    assert sum(1 for _ in tf.data.TFRecordDataset(str(shards[0]))) == len(paths) // 4
    assert not tfrecords.verify_tfrecords(tmp_path, paths, labels, root).ok

    manifest = tfrecords.write_tfrecords(
        tmp_path, paths, labels, classes, root, image_size=128, min_shards=4, progress=False
    )
    assert manifest.records == len(paths)
    assert not list(tmp_path.glob(".*")), "no partial file is left"
    check = tfrecords.verify_tfrecords(tmp_path, paths, labels, root)
    assert check.ok and check.records == len(paths)


@pytest.mark.parametrize("damage", ["truncate", "flip a byte"])
def test_verify_names_a_corrupted_shard(source, tmp_path, damage):
    root, classes, paths, labels = source
    manifest = tfrecords.write_tfrecords(
        tmp_path, paths[:20], labels[:20], classes, root, min_shards=4, progress=False
    )
    shard = tmp_path / list(manifest.shards)[2]
    data = bytearray(shard.read_bytes())
    if damage == "truncate":
        del data[len(data) // 2 :]
    else:
        data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    check = tfrecords.verify_tfrecords(tmp_path, paths[:20], labels[:20], root)
    assert not check.ok
    assert check.problems[0].startswith(f"{shard.name}: unreadable after ")
    assert "have no record" in check.problems[-1]


def test_verify_catches_wrong_labels_and_missing_manifest(source, tmp_path):
    root, classes, paths, labels = source
    tfrecords.write_tfrecords(
        tmp_path, paths[:10], labels[:10], classes, root, min_shards=2, progress=False
    )
    wrong = [(label + 1) % len(classes) for label in labels[:10]]
    check = tfrecords.verify_tfrecords(tmp_path, paths[:10], wrong, root)
    assert len(check.problems) == 10 and "has label" in check.problems[0]
    assert "did not finish" in str(
        tfrecords.verify_tfrecords(tmp_path / "nothing", paths, labels, root)
    )


def test_a_write_started_in_another_process_completes(source, tmp_path):
    root, classes, paths, labels = source
    child = tfrecords.start_write_process(
        tmp_path, paths[:12], labels[:12], classes, root, image_size=32
    )
    assert child.wait(timeout=120) == 0
    manifest = tfrecords.read_manifest(tmp_path)
    assert manifest.records == 12 and manifest.image_size == 32
    assert tfrecords.verify_tfrecords(tmp_path, paths[:12], labels[:12], root).ok


def test_a_copy_in_another_file_system_reads_and_verifies_as_the_folder_does(source, tmp_path):
    # TensorFlow's in-memory file system stands in for a bucket: both are reached through tf.io.gfile only.
    root, classes, paths, labels = source
    tfrecords.write_tfrecords(
        tmp_path, paths[:12], labels[:12], classes, root, min_shards=3, progress=False
    )
    bucket = "ram://course/shards"
    tf.io.gfile.makedirs(bucket)
    for path in tmp_path.iterdir():
        tf.io.gfile.copy(str(path), f"{bucket}/{path.name}", overwrite=True)
    manifest = tfrecords.read_manifest(bucket)
    assert (
        manifest.records == 12
        and manifest.files(bucket)[0] == f"{bucket}/train-00000-of-00003.tfrecord"
    )
    check = tfrecords.verify_tfrecords(bucket, paths[:12], labels[:12], root)
    assert (
        check.ok
        and check.records == 12
        and str(check).startswith(f"{bucket}: 12 records read back")
    )
    tf.io.gfile.remove(manifest.files(bucket)[1])
    assert "train-00001-of-00003.tfrecord: missing" in str(
        tfrecords.verify_tfrecords(bucket, paths[:12], labels[:12], root)
    )


def test_records_read_as_uint8_of_static_shape_with_a_parse_of_ones_own(source, tmp_path):
    from helpers import pipelines

    root, classes, paths, labels = source
    manifest = tfrecords.write_tfrecords(
        tmp_path,
        paths[:12],
        labels[:12],
        classes,
        root,
        image_size=32,
        min_shards=3,
        progress=False,
    )

    def parse_uint8(record):
        example = tf.io.parse_single_example(record, tfrecords.FEATURES)
        return tf.ensure_shape(
            tf.io.decode_jpeg(example["image"], channels=3), (32, 32, 3)
        ), example["label"]

    data = pipelines.from_records(
        manifest.files(tmp_path), 32, 5, drop_remainder=True, parse=parse_uint8, deterministic=False
    )
    assert data.element_spec[0] == tf.TensorSpec((5, 32, 32, 3), tf.uint8)
    assert sum(len(batch) for batch, _ in data) == 10  # two whole batches of the twelve records
