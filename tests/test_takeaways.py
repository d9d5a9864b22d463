"""The results notebook's sentences say what the rows' figures show, and no more."""

from __future__ import annotations

from helpers.takeaways import label_check


def row(notebook: str, accuracy: float | None) -> dict:
    return {"notebook": notebook, "val_accuracy": accuracy}


def test_accuracies_well_above_chance_show_matched_labels_and_rank_nothing():
    sentence = label_check([row("06_caching", 0.82), row("08_tpu", 0.41), row("05_x", None)], 5)
    assert "from 0.41 (08) to 0.82 (06)" in sentence
    assert "chance of 0.20 (5 classes)" in sentence
    assert "every pipeline's labels arrive with their images" in sentence
    assert "do not rank the pipelines" in sentence


def test_a_row_near_chance_is_named_instead():
    sentence = label_check([row("02_a", 0.65), row("07_b", 0.25)], 5)
    assert "below 1.5× chance: 07 (0.25)" in sentence
    assert "every pipeline" not in sentence


def test_no_accuracy_no_sentence():
    assert label_check([row("05_x", None)], 5) is None
