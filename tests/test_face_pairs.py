"""Face pairs: people from a scan, a split that keeps every image, checks, stateless draws, the model."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from helpers.accelerator import A100
from helpers.config import settings
from helpers.face_pairs import (
    MANY_PEOPLE,
    check_pairs,
    columns,
    describe,
    images_by_person,
    negative_pair,
    pick,
    positive_pair,
    profile_pair_stand_in,
    siamese_verifier,
    split_people,
    stand_in_verifier,
    two_random_indices,
)
from helpers.profiling import DEVICE_TRACE
from helpers.scan import scan_folder


def people_of(sizes):
    return [[f"p{person}/img{i}.jpg" for i in range(size)] for person, size in enumerate(sizes)]


def test_images_by_person_groups_good_files_and_leaves_out_empty_people(tmp_path):
    from PIL import Image

    for person, count in (("ann", 2), ("bob", 1)):
        (tmp_path / person).mkdir()
        for i in range(count):
            Image.new("RGB", (8, 8)).save(tmp_path / person / f"{i}.jpg")
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "broken.jpg").write_bytes(b"not an image")
    people = images_by_person(scan_folder(tmp_path, progress=False))
    assert sorted(len(images) for images in people) == [1, 2]


@pytest.mark.parametrize("sizes", [[10, 7, 3, 1, 5], [2] * MANY_PEOPLE])
def test_split_people_keeps_every_image_once(sizes):
    people = people_of(sizes)
    train, val = split_people(people)
    drawn = [path for group in (train, val) for images in group for path in images]
    assert sorted(drawn) == sorted(path for images in people for path in images)
    if len(people) >= MANY_PEOPLE:  # whole people held out
        assert not {images[0] for images in train} & {images[0] for images in val}
        assert len(val) == round(0.2 * len(people))


def test_check_and_describe_a_pair():
    pairs = [("a/1.jpg", "a/2.jpg", 1.0), (b"a/1.jpg", b"b/1.jpg", 0.0)]
    assert check_pairs(pairs) == (
        "2 pairs, 1 positive; every label agrees with the folders and no image "
        "is paired with itself: True"
    )
    assert "False" in check_pairs([("a/1.jpg", "a/1.jpg", 1.0)])  # an image paired with itself
    assert "False" in check_pairs([("a/1.jpg", "b/1.jpg", 1.0)])  # a label that lies
    assert describe(b"a/1.jpg", "b/2.jpg", 0.0) == "a/1.jpg + b/2.jpg: different"


def test_columns_are_one_array_each():
    first, second, same = columns([("a", "b", 1.0), ("c", "d", 0.0)])
    assert (
        first.tolist() == ["a", "c"] and second.tolist() == ["b", "d"] and same.dtype == np.float32
    )


def test_stateless_draws_repeat_and_never_pick_the_same_index_twice():
    for number in range(200):
        seed = tf.constant([number, 0], tf.int64)
        first, second = two_random_indices(tf.constant(3, tf.int64), seed)
        assert first != second and 0 <= int(first) < 3 and 0 <= int(second) < 3
        assert (int(first), int(second)) == tuple(
            int(i) for i in two_random_indices(tf.constant(3, tf.int64), seed)
        )
    ragged = tf.ragged.constant([["a"], ["b", "c"]])
    rows = {tuple(pick(ragged, tf.constant([n, 0], tf.int64)).numpy().tolist()) for n in range(50)}
    assert rows == {(b"a",), (b"b", b"c")}


def test_positive_and_negative_pairs_say_what_their_folders_say():
    people = people_of([3, 1, 2])
    repeated = tf.ragged.constant([images for images in people if len(images) >= 2])
    images_of = tf.ragged.constant(people)
    drawn = [positive_pair(repeated, tf.constant(n, tf.int64)) for n in range(30)]
    drawn += [negative_pair(images_of, tf.constant(n, tf.int64)) for n in range(30)]
    pairs = [(first.numpy(), second.numpy(), same) for first, second, same in drawn]
    assert check_pairs(pairs).endswith(": True")
    assert (
        positive_pair(repeated, tf.constant(7, tf.int64))[0]
        == positive_pair(repeated, tf.constant(7, tf.int64))[0]
    )


def test_the_verifier_takes_two_images_and_gives_one_probability():
    model = siamese_verifier(64)
    images = np.zeros((2, 64, 64, 3), np.float32)
    assert model.predict((images, images), verbose=0).shape == (2, 1)
    assert len(model.inputs) == 2


def test_the_pair_stand_in_holds_the_device_for_both_images_of_every_pair(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_LOGS_DIR", str(tmp_path))
    quick = settings("test_face_pairs")
    images = np.zeros(
        (quick.scale.batch_size, quick.scale.image_size, quick.scale.image_size, 3), np.float32
    )
    same = np.ones(quick.scale.batch_size, np.float32)
    assert stand_in_verifier(quick.scale.image_size).predict((images, images), verbose=0).shape == (
        len(images),
        1,
    )
    # ready at once: no wait
    pairs = tf.data.Dataset.from_tensors(((images, images), same)).repeat()
    summary = profile_pair_stand_in(pairs, quick)
    device_ms = A100.step_ms(
        quick.scale.image_size, 2 * quick.scale.batch_size
    )  # two images a pair
    asleep_ms = sum(end - start for start, end in summary.lanes[DEVICE_TRACE]) / len(summary.steps)
    assert 0 < asleep_ms <= 1.05 * device_ms  # the model's own step counts as device time
    assert summary.step_ms >= 0.9 * device_ms
    assert summary.wait_share < 0.2
