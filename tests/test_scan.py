"""The scan finds every bad file with its reason, keeps every good one, and changes nothing."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from helpers.messy import make_messy_folder
from helpers.scan import UnusableFolder, scan_folder


@pytest.fixture(scope="module")
def messy(quick_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    return root, make_messy_folder(quick_dataset, root)


def _relative(root, paths):
    return {p.relative_to(root).as_posix() for p in paths}


def _fingerprint(root):
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_scan_sorts_good_bad_and_ignored_files(messy):
    root, kinds = messy
    report = scan_folder(root, progress=False)

    assert _relative(root, (f.path for f in report.good)) == kinds["good"]
    assert _relative(root, (f.path for f in report.bad)) == kinds["bad"]
    assert _relative(root, report.ignored) == kinds["ignored"]


def test_each_bad_file_has_its_reason(messy):
    root, _ = messy
    reasons = {f.path.name: f.problem for f in scan_folder(root, progress=False).bad}

    assert reasons["empty.jpg"] == "empty file"
    assert reasons["truncated.jpg"].startswith("corrupt or truncated JPEG: ")
    assert reasons["random bytes.jpg"].startswith("not an image: ")
    assert "{{" not in "".join(reasons.values())


def test_surprises_that_still_decode_are_noted(messy):
    root, _ = messy
    notes = {f.path.name: f.notes for f in scan_folder(root, progress=False).good}

    assert "PNG named .jpg" in notes["png named.jpg"]
    assert "CMYK" in notes["cmyk.jpg"] and "grayscale" in notes["grayscale.jpg"]
    assert "animated (first frame used)" in notes["animation.gif"]


def test_report_counts_every_class_and_labels_follow_keras_order(messy):
    root, kinds = messy
    report = scan_folder(root, progress=False)

    assert report.classes == sorted(report.classes) and report.per_class()["empty_class"] == 0
    paths, labels = report.good_files()
    assert len(paths) == len(labels) == len(kinds["good"])
    assert {report.classes[label] for label in labels} <= set(report.classes) - {"empty_class"}
    assert "3 will not decode" in str(report) and "skipped" in str(report)


def test_scan_changes_nothing(messy):
    root, _ = messy
    before = _fingerprint(root)
    scan_folder(root, progress=False)
    assert _fingerprint(root) == before


def test_the_messy_folder_is_rebuilt_from_a_view_of_itself(messy, tmp_path):
    """Its source is read before its target is emptied: a run on the messy folder itself still works."""
    root, kinds = messy
    copy = tmp_path / "messy"
    make_messy_folder(root, copy)
    rebuilt = make_messy_folder(copy, copy)
    assert rebuilt["bad"] == kinds["bad"] and rebuilt["ignored"] == kinds["ignored"]
    assert {p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()} == set().union(
        *rebuilt.values()
    )


def _folder(root, source, counts, broken=0):
    """Class folders holding ``counts`` JPEGs of ``source`` each; the last class also gets ``broken`` empty files."""
    photos = iter(sorted(source.rglob("*.jpg")))
    for index, count in enumerate(counts):
        folder = root / f"class_{index}"
        folder.mkdir(parents=True)
        for _ in range(count):
            shutil.copyfile(next(photos), folder / f"{len(list(folder.iterdir()))}.jpg")
    for number in range(broken):
        (root / f"class_{len(counts) - 1}" / f"broken_{number}.jpg").write_bytes(b"")
    return root


def test_the_smallest_folder_every_notebook_can_use_is_accepted(quick_dataset, tmp_path):
    report = scan_folder(_folder(tmp_path / "smallest", quick_dataset, (35, 5)), progress=False)
    report.require_trainable()
    assert report.per_class() == {"class_0": 35, "class_1": 5}


def test_a_class_too_small_to_split_is_refused_by_name_with_what_to_change(quick_dataset, tmp_path):
    report = scan_folder(
        _folder(tmp_path / "mine", quick_dataset, (40, 4), broken=2), progress=False
    )
    with pytest.raises(UnusableFolder) as refused:
        report.require_trainable()
    message = str(refused.value)
    assert "mine/class_1 holds 4 good images (2 more will not decode)" in message
    assert (
        "at least 5, so that the fifth of it kept for validation holds one. Add images to it"
        in message
    )


@pytest.mark.parametrize("counts", [(39, 0), (20, 19)], ids=["one class", "39 images"])
def test_a_folder_too_small_for_every_notebook_is_refused_with_what_to_change(
    counts, quick_dataset, tmp_path
):
    report = scan_folder(_folder(tmp_path / "mine", quick_dataset, counts), progress=False)
    with pytest.raises(
        UnusableFolder,
        match=r"mine holds 39 good images in \d classes: the course needs at "
        r"least 40 in 2 classes .* Add images or classes\.",
    ):
        report.require_trainable()


def test_one_epoch_counts_images_and_stops_at_the_first_error():
    import numpy as np
    import tensorflow as tf

    from helpers.messy import Delivered, one_epoch

    images = tf.data.Dataset.from_tensor_slices(tf.zeros([10, 4, 4, 3]))
    assert one_epoch(images.batch(4)) == Delivered(10)
    assert one_epoch(images.map(lambda image: (image, 0))) == Delivered(
        10
    )  # single images with labels

    def fails_at_six(index):
        tf.debugging.assert_less(index, tf.constant(6, tf.int64), message="broken file")
        return tf.zeros([4, 4, 3])

    stopped = one_epoch(tf.data.Dataset.range(10).map(fails_at_six).batch(2))
    assert (
        stopped.images == 6
        and stopped.error.startswith("InvalidArgumentError: ")
        and "broken file" in stopped.error
    )
    assert stopped.of(10) == "crashed (InvalidArgumentError)" and stopped.lost(10) is None

    class Batches:  # a PyDataset as flow_from_directory returns: indexed, and endless when iterated
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return np.zeros([2, 4, 4, 3]), np.zeros([2])

    assert (
        one_epoch(Batches()) == Delivered(6)
        and Delivered(6).of(7) == "6 of 7"
        and Delivered(6).lost(7) == 1
    )


def test_side_by_side_pairs_each_loader_with_and_without_the_scan():
    from helpers.messy import Delivered, SideBySide

    table = SideBySide(
        {"loader": Delivered(0, "OSError: broken"), "+ ignore_errors()": Delivered(5)},
        {"loader": Delivered(6)},
        good=6,
        taught_in={"loader": "01"},
    )
    rows = table.rows()
    assert rows[0] == {
        "loader": "loader",
        "taught_in": "01",
        "without": "crashed (OSError)",
        "lost_without": None,
        "with_scan": "6 of 6",
        "lost_with": 0,
    }
    assert rows[1]["with_scan"] is None and rows[1]["lost_without"] == 1
    assert table._repr_markdown_().startswith("| loader | notebook | without the scan |")
