"""The results notebook's sentences say what the rows' figures show, and no more."""

from __future__ import annotations

from helpers.takeaways import (
    accelerator_waits,
    ceiling_check,
    cpu_waits,
    label_check,
    takeaways,
)


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


def pipeline(notebook: str, name: str, **figures) -> dict:
    return {"notebook": notebook, "pipeline": name, **figures}


DECODING = pipeline("03_files", "files", images_per_second=900.0, decode_ceiling=1000.0)
CACHED = pipeline(
    "06_cache", "cache", images_per_second=5000.0, decode_ceiling=1100.0, decodes=False
)


def test_each_pipeline_is_set_against_its_own_ceiling():
    sentence = ceiling_check([DECODING, CACHED, pipeline("04_bad", "none")])
    assert "03 files 90 %; 06 cache 4.5× (decodes less)" in sentence
    assert "1,000 to 1,100 images/s (1.1× apart): the machine was steady" in sentence
    past = ceiling_check(
        [{**DECODING, "images_per_second": 1200.0, "decode_ceiling": 800.0}, CACHED]
    )
    assert "03 files 150 % (past it: its notebook must explain)" in past
    assert "trust only large differences" in past
    assert ceiling_check([pipeline("04_bad", "none")]) is None


def waits(notebook: str, traced: float | None, predicted: float | None, cpu: float | None) -> dict:
    return pipeline(
        notebook,
        f"p{notebook[:2]}",
        waiting_accelerator_percent=traced,
        predicted_waiting_accelerator_percent=predicted,
        waiting_percent=cpu,
    )


def test_each_stand_in_wait_stands_beside_its_own_prediction_and_no_other_pipeline():
    rows = [
        waits("01_a", 89.4, 91.5, 25.7),
        waits("09_b", 53.6, 69.6, 0.5),
        waits("07_c", 1.5, None, None),
    ]
    sentence = accelerator_waits(rows)
    assert "01 p01 89 % (92 % predicted); 09 p09 54 % (70 % predicted); 07 p07 2 %." in sentence
    assert "within 10 points in 1 of 2 pipelines; in 09 p09 they part" in sentence
    assert accelerator_waits([waits("01_a", None, None, 3.0)]) is None


def test_each_course_model_wait_is_compared_with_its_own_stand_in():
    rows = [
        waits("01_a", 89.4, 91.5, 25.7),
        waits("05_b", 30.0, 31.0, 43.0),
        waits("07_c", 1.5, 0.0, None),
    ]
    sentence = cpu_waits(rows)
    assert (
        "less than the stand-in's on the same pipeline in 1 of 2 pipelines traced both ways"
        in sentence
    )
    assert "(not in 05 p05)" in sentence
    assert cpu_waits([waits("07_c", 1.5, 0.0, None)]) is None


def test_takeaways_list_every_sentence_and_what_is_missing():
    rows = [{**DECODING, **waits("03_files", 50.0, 55.0, 1.0)}, {**CACHED, "val_accuracy": 0.8}]
    for row in rows:
        row.update(cpu_count=2, pipeline=row["notebook"][3:])
    text = takeaways(rows, 5, missing=["10_scaling_out"])
    lines = text.splitlines()
    assert [line.split("**")[1] for line in lines] == [
        "Against its own full-decode ceiling",
        "At an A100's demand",
        "On the CPU",
        "Validation accuracy",
        "Not compared yet, or not alike:",
    ]
    assert lines[-1].endswith("10_scaling_out has no results.")
    assert takeaways(rows[:1], 5).startswith("Fewer than two pipelines have results")
