"""Results round-trip through JSON with their context, and build the comparison: rows, tables, charts."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest

from helpers.config import settings
from helpers.plots import accuracy_per_epoch, plot_epochs, plot_throughput, plot_waiting
from helpers.results import (
    UnlikeSides,
    ceiling_multiple,
    comparison_table,
    context_differences,
    decode_ceilings,
    decodes,
    extremes,
    format_table,
    lesson_rows,
    load_results,
    markdown_rows,
    missing_results,
    pipeline_rows,
    record,
)


def test_record_and_load_round_trip_with_context(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    recorded = record("02_tf_data", images_per_second=np.float32(812.5), epochs=2)
    # no pipeline, no row
    assert recorded.path == tmp_path / "02_tf_data.json" and recorded.rows == []
    assert repr(recorded).startswith("Recorded in ") and repr(recorded).endswith(
        "02_tf_data.json: 0 pipeline row(s)"
    )
    result = load_results()["02_tf_data"]
    assert result["numbers"] == {"images_per_second": 812.5, "epochs": 2}
    context = result["context"]
    assert {
        "scale",
        "dataset",
        "image_size",
        "batch_size",
        "cpu_count",
        "tensorflow",
    } <= context.keys()
    assert context["image_size"] == settings().scale.image_size
    assert datetime.fromisoformat(context["measured_at"]).tzinfo is not None


def test_table_rows_come_from_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    record("01_baseline", pipeline="baseline", images_per_second=100.0)
    record("02_tf_data", pipeline="tf.data")
    rows = pipeline_rows(load_results())
    assert [row["notebook"] for row in rows] == ["01_baseline", "02_tf_data"]
    assert rows[0]["images_per_second"] == 100.0 and rows[1]["images_per_second"] is None
    table = format_table(
        rows, {"notebook": "notebook", "images_per_second": "images/s"}
    ).splitlines()
    assert table[0].split() == ["notebook", "images/s"]
    assert table[2].split() == ["02_tf_data", "-"]
    assert len(plot_throughput(rows).axes[0].patches) == 2


def test_a_recorded_pipeline_shows_its_rows_as_the_comparison_will(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    shown = record("07_tfrecords", **TFRECORDS)._repr_markdown_()
    assert markdown_rows(shown) == markdown_rows(
        comparison_table(pipeline_rows(load_results()), markdown=True)
    )
    assert [row["% waiting, A100's demand"] for row in markdown_rows(shown)] == ["60.0", "2.0"]
    # an A100's 8.6 ms a batch of 32 at 128 px asks for 3,703 images/s: 900 leave it 76 % waiting
    assert [row["% predicted from images/s"] for row in markdown_rows(shown)] == ["75.7", "19.0"]


def test_missing_results_name_the_notebook_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    (tmp_path / "01_baseline.json").write_text(json.dumps({"numbers": {}, "context": {}}))
    messages = missing_results(["01_baseline", "03_cache"], load_results())
    assert len(messages) == 1 and "03_cache" in messages[0] and "03_cache.ipynb" in messages[0]


def result(numbers: dict, **context) -> dict:
    return {
        "numbers": numbers,
        "context": {
            "scale": "quick",
            "dataset": "embedded",
            "image_size": 128,
            "batch_size": 32,
            "cpu_count": 2,
            **context,
        },
    }


TFRECORDS = {
    "pipeline": "TFRecords, JPEG bytes",
    "images_per_second": 900.0,
    "decode_ceiling": 1000.0,
    "percent_of_ceiling": 90.0,
    "epoch_seconds": [9.0, 5.0, 7.0, 6.0],
    "wait_share": 0.25,
    "val_accuracy": 0.5,
    "pipeline_preresized": "TFRecords, pre-resized",
    "images_per_second_preresized": 3000.0,
    "epoch_seconds_preresized": [4.0],
    "wait_share_preresized": 0.0,
    "images_per_second_augmented": 400.0,
    "wait_share_accelerator": 0.6,
    "wait_share_accelerator_preresized": 0.02,
    "decodes_preresized": False,
}


def test_a_named_suffix_makes_a_row_and_other_suffixes_do_not():
    rows = pipeline_rows(
        {"00_setup": result({"decode_ceiling": 1100.0}), "07_tfrecords": result(TFRECORDS)}
    )
    assert [row["pipeline"] for row in rows] == ["TFRecords, JPEG bytes", "TFRecords, pre-resized"]
    jpeg, preresized = rows
    # the median of the rest
    assert jpeg["first_epoch_seconds"] == 9.0 and jpeg["later_epoch_seconds"] == 6.0
    assert jpeg["waiting_percent"] == 25.0 and jpeg["images_per_second"] == 900.0
    assert (
        jpeg["waiting_accelerator_percent"] == 60.0
        and preresized["waiting_accelerator_percent"] == 2.0
    )
    # the notebook's own
    assert preresized["images_per_second"] == 3000.0 and preresized["decode_ceiling"] == 1000.0
    assert preresized["first_epoch_seconds"] == 4.0 and preresized["later_epoch_seconds"] is None
    assert preresized["waiting_percent"] == 0.0 and preresized["val_accuracy"] is None
    assert preresized["notebook"] == "07_tfrecords" and preresized["cpu_count"] == 2


def test_the_comparison_table_formats_each_column():
    rows = pipeline_rows({"07_tfrecords": result(TFRECORDS, tensorflow="2.21.0")})
    text = comparison_table(rows).splitlines()
    assert text[0].startswith("notebook      pipeline") and text[0].endswith("TF")
    assert text[2].split("  ")[:2] == ["07_tfrecords", "TFRecords, pre-resized"]
    assert text[1].split()[-15:-10] == ["900", "90", "1,000", "9.0", "6.0"] and text[1].endswith(
        "2.21.0"
    )
    markdown = comparison_table(rows, markdown=True).splitlines()
    assert (
        "| % waiting | % waiting, A100's demand | % predicted from images/s | val accuracy |"
        in markdown[0]
    )
    assert markdown[1].startswith("| :--- | :--- | ---: |")  # text left, numbers right
    assert "| 3,000 | - | 1,000 | 4.0 | - | 0.0 | 2.0 | 19.0 | - |" in markdown[3]
    assert comparison_table([]) == "No pipeline results yet."


def test_differences_in_context_are_named_with_their_notebooks():
    rows = pipeline_rows(
        {
            "01_a": result({"pipeline": "a"}),
            "02_b": result({"pipeline": "b"}, cpu_count=8),
            "03_c": result({"pipeline": "c"}),
        }
    )
    assert context_differences(rows) == ["cores differs: 2 in 01, 03; 8 in 02"]
    assert context_differences(rows[:1]) == []


def test_each_decode_ceiling_counts_once():
    rows = pipeline_rows(
        {
            "03_files": result({"pipeline": "files", "decode_ceiling": 900.0}),
            "07_tfrecords": result(TFRECORDS),
        }
    )
    assert len(rows) == 3 and decode_ceilings(rows) == [900.0, 1000.0]


def test_a_pipeline_decodes_unless_its_notebook_says_it_does_not():
    rows = pipeline_rows(
        {"07_tfrecords": result(TFRECORDS), "08_other": result({"pipeline": "other"})}
    )
    assert [ceiling_multiple(row) for row in rows] == [0.9, 3.0, None]
    assert [decodes(row) for row in rows] == [True, False, True]


def test_charts_show_every_row_in_order_at_one_size():
    rows = pipeline_rows(
        {"07_tfrecords": result(TFRECORDS), "08_other": result({"pipeline": "other"})}
    )
    throughput = plot_throughput(rows)
    decoding, beyond = throughput.axes
    assert [label.get_text().split(" · ")[0] for label in decoding.get_yticklabels()] == [
        "07",
        "08",
    ]
    assert [text.get_text() for text in decoding.texts] == [
        "900 · 90 % of its ceiling",
        "not recorded",
    ]
    # the row's own ceiling
    assert decoding.collections[0].get_offsets().tolist() == [[1000.0, 0.0]]
    assert [label.get_text() for label in beyond.get_yticklabels()] == [
        "07 · TFRecords, pre-resized"
    ]
    assert [text.get_text() for text in beyond.texts] == ["3.0× (3,000 images/s)"]
    # the decode ceiling, as a multiple
    assert [line.get_xdata()[0] for line in beyond.lines] == [1]
    epochs = plot_epochs(rows).axes[0]
    # a first-epoch mark for each row that trained
    assert len(epochs.collections[0].get_offsets()) == 2
    assert [text.get_text() for text in epochs.texts] == [
        "6.0 s · first 9.0 s",
        "not recorded",
        "not recorded",
    ]
    waiting = plot_waiting(rows).axes[0]
    assert waiting.get_xlim() == (0, 110)
    # the course model's bars, then the stand-in's
    assert [text.get_text() for text in waiting.texts] == [
        "25.0 %",
        "0.0 %",
        "not recorded",
        "60.0 %",
        "2.0 %",
        "not recorded",
    ]
    # no panel for rows past the ceiling when none is
    assert len(plot_throughput(rows[:1]).axes) == 1
    for figure in (plot_waiting([]), plot_throughput([]), plot_epochs(rows)):
        assert figure.get_size_inches().tolist() == throughput.get_size_inches().tolist()


def test_extremes_skip_rows_without_the_figure():
    rows = [{"n": 1, "v": 3.0}, {"n": 2, "v": None}, {"n": 3, "v": 1.0}, {"n": 4}]
    low, high = extremes(rows, "v")
    assert (low["n"], high["n"]) == (3, 1)
    assert extremes(rows, "absent") == (None, None)


def test_a_lesson_makes_a_row_only_with_both_of_its_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    recorded = record(
        "01_baseline",
        images_per_second_idg_workers=300.0,
        images_per_second_tf_data_fit=750.0,
        images_per_second_idg_workers_unaugmented=600.0,
        images_per_second_tf_data_fit_unaugmented=690.0,
        val_accuracy_full_shuffle=0.9,
    )  # the shuffling lesson lacks its other number
    # the fair baseline: augmenting alike, then neither augmenting
    assert [row["measured"] for row in recorded.lessons] == [
        "300 → 750 (2.50×)",
        "600 → 690 (1.15×)",
    ]
    assert "the articles" in recorded._repr_markdown_() and repr(recorded).endswith(
        "2 lesson row(s)"
    )
    record("00_data", val_accuracy_0_255=0.97, val_accuracy_div255=0.2)
    rows = lesson_rows(load_results())
    assert [(row["notebook"], row["measured"]) for row in rows] == [
        ("00_data", "0.97 → 0.20"),
        ("01_baseline", "300 → 750 (2.50×)"),
        ("01_baseline", "600 → 690 (1.15×)"),
    ]
    cached = record(
        "06_cache", images_per_second_augmented_uncached=600.0, file_cache_growth=0.01
    )  # each lesson lacks its other number
    assert cached.lessons == []
    cached = record(
        "06_cache",
        images_per_second_augmented_uncached=600.0,
        images_per_second_augmented_cached=2400.0,
        file_cache_growth=0.01,
        in_memory_cache_growth=1.27,
    )
    assert [row["measured"] for row in cached.lessons] == ["600 → 2,400 (4.0×)", "0.01 → 1.27"]


def test_accuracy_per_epoch_draws_a_line_per_run_over_the_epochs():
    figure = accuracy_per_epoch({"sorted": [0.2, 0.3, 0.25], "shuffled": [0.4, 0.7, 0.9]})
    axes = figure.axes[0]
    assert [line.get_label() for line in axes.get_lines()] == ["sorted", "shuffled"]
    assert list(axes.get_lines()[1].get_xdata()) == [1, 2, 3]
    assert list(axes.get_lines()[1].get_ydata()) == [0.4, 0.7, 0.9]


def _lesson_sides(augmentation_after: dict) -> dict:
    before = {"loader": "ImageDataGenerator", "augmentation": {"flip": "horizontal"}, "process": 7}
    return {
        "images_per_second_idg_workers": before,
        "images_per_second_tf_data_fit": {
            **before,
            "loader": "tf.data",
            "augmentation": augmentation_after,
        },
    }


def test_a_lesson_whose_sides_differ_only_in_what_it_varies_is_shown_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    recorded = record(
        "01_baseline",
        conditions=_lesson_sides({"flip": "horizontal"}),
        images_per_second_idg_workers=400.0,
        images_per_second_tf_data_fit=600.0,
    )
    (row,) = recorded.lessons
    assert row["differs_in"] == "loader only: augmentation, process alike"


def test_a_lesson_whose_sides_do_different_work_is_refused_and_not_written(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    with pytest.raises(UnlikeSides, match="differ in augmentation"):
        record(
            "01_baseline",
            conditions=_lesson_sides({}),
            images_per_second_idg_workers=400.0,
            images_per_second_tf_data_fit=600.0,
        )
    assert load_results() == {}


def test_a_lesson_without_conditions_says_it_was_not_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    recorded = record(
        "01_baseline", images_per_second_idg_workers=400.0, images_per_second_tf_data_fit=600.0
    )
    assert recorded.lessons[0]["differs_in"] == "loader (not checked)"
