"""The scan finds every bad file with its reason, keeps every good one, and changes nothing."""
from __future__ import annotations

import hashlib

import pytest

from helpers.scan import scan_folder
from helpers.messy import make_messy_folder


@pytest.fixture(scope="module")
def messy(quick_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("messy")
    return root, make_messy_folder(quick_dataset, root)


def _relative(root, paths):
    return {p.relative_to(root).as_posix() for p in paths}


def _fingerprint(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


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
