"""Results round-trip through JSON with their context, and build the comparison: rows, tables, charts."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from markdown_tables import markdown_rows

from helpers.comparison import (
    ceiling_multiple,
    comparison_table,
    context_differences,
    decode_ceilings,
    decodes,
    pipeline_rows,
)
from helpers.config import settings
from helpers.lessons import UnlikeSides, lesson_rows
from helpers.plots import accuracy_per_epoch, plot_epochs, plot_throughput, plot_waiting
from helpers.results import Pipeline, load_results, missing_results, record
from helpers.tables import format_table

JPEG = Pipeline("TFRecords, JPEG bytes", 900.0, 1000.0, [9.0, 5.0, 7.0, 6.0], 0.25, 0.6, 0.5, 40)
PRERESIZED = Pipeline("TFRecords, pre-resized", 3000.0, 1000.0, [4.0], 0.0, 0.02, decodes=False)
TFRECORDS = (JPEG.figures(), PRERESIZED.figures())


def result(*pipelines: dict, **context) -> dict:
    """A notebook's recorded result, as ``record`` writes it, measured at quick scale on two cores."""
    return {
        "pipelines": list(pipelines),
        "numbers": {},
        "context": {
            "scale": "quick",
            "dataset": "embedded",
            "image_size": 128,
            "batch_size": 32,
            "cpu_count": 2,
            **context,
        },
    }


def test_record_and_load_round_trip_with_context(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    recorded = record("04_bad_input", good_images=np.int64(812), scan={"bad_files": 2})
    # no pipeline, no row
    assert recorded.path == tmp_path / "04_bad_input.json" and recorded.rows == []
    assert repr(recorded).startswith("Recorded in ") and repr(recorded).endswith(
        "04_bad_input.json: 0 pipeline row(s)"
    )
    result = load_results()["04_bad_input"]
    assert result["numbers"] == {"good_images": 812, "scan": {"bad_files": 2}}
    assert result["pipelines"] == []
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


def test_a_pipeline_reads_its_figures_from_what_the_notebook_holds():
    held = Pipeline(
        "TFRecords, JPEG bytes",
        SimpleNamespace(images_per_second=900.0, seconds=3.0),
        SimpleNamespace(images_per_second=1000.0),
        SimpleNamespace(seconds=(9.0, 5.0, 7.0, 6.0)),
        SimpleNamespace(wait_share=0.25),
        SimpleNamespace(wait_share=0.6),
        SimpleNamespace(history={"val_accuracy": [0.2, 0.5]}),
        40,
    )
    assert (
        held.figures()
        == JPEG.figures()
        == {
            "pipeline": "TFRecords, JPEG bytes",
            "images_per_second": 900.0,
            "decode_ceiling": 1000.0,
            "percent_of_ceiling": 90.0,
            "epoch_seconds": [9.0, 5.0, 7.0, 6.0],
            "wait_share": 0.25,
            "wait_share_accelerator": 0.6,
            "val_accuracy": 0.5,
            "images_used": 40,
            "decodes": True,
        }
    )
    untraced = Pipeline("input only", 3000.0, 1000.0, decodes=False).figures()
    assert untraced["epoch_seconds"] is None and untraced["wait_share_accelerator"] is None
    assert untraced["percent_of_ceiling"] == 300.0 and untraced["decodes"] is False


def test_each_pipeline_recorded_makes_a_row_and_extras_make_none(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    recorded = record(
        "07_tfrecords", JPEG, PRERESIZED, shards=3, files=SimpleNamespace(images_per_second=800.0)
    )
    assert [row["pipeline"] for row in recorded.rows] == [JPEG.name, PRERESIZED.name]
    # a measured rate is kept as its images/s
    assert load_results()["07_tfrecords"]["numbers"] == {"shards": 3, "files": 800.0}
    assert repr(recorded).endswith("07_tfrecords.json: 2 pipeline row(s)")


@pytest.mark.parametrize(
    "extra",
    [
        "images_per_second",  # a pipeline's figure, outside its Pipeline
        "val_accuracy_full_shufle",  # a lesson's number, misspelt
        "wait_share_acelerator",  # a pipeline's figure, misspelt
    ],
)
def test_an_extra_named_like_a_figure_or_a_lesson_is_refused_and_not_written(
    extra, tmp_path, monkeypatch
):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="looks like"):
        record("03_tf_data", JPEG, **{extra: 0.5})
    assert load_results() == {}
    # names of their own, and a lesson's exact name, are kept
    record("03_tf_data", JPEG, val_accuracy_full_shuffle=0.9, wait_share_string_labels=0.4)


def test_table_rows_come_from_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    record("01_baseline", Pipeline("baseline", 100.0, 1000.0))
    record("02_tf_data", Pipeline("tf.data", 400.0, 1000.0))
    rows = pipeline_rows(load_results())
    assert [row["notebook"] for row in rows] == ["01_baseline", "02_tf_data"]
    assert rows[0]["images_per_second"] == 100.0 and rows[1]["first_epoch_seconds"] is None
    table = format_table(
        rows, {"notebook": "notebook", "first_epoch_seconds": "epoch 1 s"}
    ).splitlines()
    assert table[0].split() == ["notebook", "epoch", "1", "s"]
    assert table[2].split() == ["02_tf_data", "-"]
    assert len(plot_throughput(rows).axes[0].patches) == 2


def test_a_recorded_pipeline_shows_its_rows_as_the_comparison_will(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    shown = record("07_tfrecords", JPEG, PRERESIZED)._repr_markdown_()
    assert markdown_rows(shown) == markdown_rows(
        comparison_table(pipeline_rows(load_results()), markdown=True)
    )
    assert [row["% waiting, A100's demand"] for row in markdown_rows(shown)] == ["60.0", "2.0"]
    # an A100's 8.6 ms a batch of 32 at 128 px asks for 3,703 images/s: 900 leave it 76 % waiting
    assert [row["% predicted from images/s"] for row in markdown_rows(shown)] == ["75.7", "19.0"]


def test_missing_results_name_the_notebook_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    (tmp_path / "01_baseline.json").write_text(json.dumps(result()))
    messages = missing_results(["01_baseline", "03_cache"], load_results())
    assert len(messages) == 1 and "03_cache" in messages[0] and "03_cache.ipynb" in messages[0]


def test_each_pipeline_makes_a_row_with_its_own_figures():
    rows = pipeline_rows({"00_setup": result(), "07_tfrecords": result(*TFRECORDS)})
    assert [row["pipeline"] for row in rows] == ["TFRecords, JPEG bytes", "TFRecords, pre-resized"]
    jpeg, preresized = rows
    # the median of the rest
    assert jpeg["first_epoch_seconds"] == 9.0 and jpeg["later_epoch_seconds"] == 6.0
    assert jpeg["waiting_percent"] == 25.0 and jpeg["images_per_second"] == 900.0
    assert (
        jpeg["waiting_accelerator_percent"] == 60.0
        and preresized["waiting_accelerator_percent"] == 2.0
    )
    assert preresized["images_per_second"] == 3000.0 and preresized["decode_ceiling"] == 1000.0
    assert preresized["first_epoch_seconds"] == 4.0 and preresized["later_epoch_seconds"] is None
    assert preresized["waiting_percent"] == 0.0 and preresized["val_accuracy"] is None
    assert preresized["notebook"] == "07_tfrecords" and preresized["cpu_count"] == 2


def test_the_comparison_table_formats_each_column():
    rows = pipeline_rows({"07_tfrecords": result(*TFRECORDS, tensorflow="2.21.0")})
    text = comparison_table(rows).splitlines()
    assert text[0].startswith("notebook      pipeline") and text[0].endswith("TF")
    assert text[2].split("  ")[:2] == ["07_tfrecords", "TFRecords, pre-resized"]
    assert text[1].split()[-15:-10] == ["900", "90", "1,000", "9.0", "6.0"] and text[1].endswith(
        "2.21.0"
    )
    markdown = comparison_table(rows, markdown=True).splitlines()
    assert "| images/s | % of full-decode ceiling | full-decode ceiling, images/s |" in markdown[0]
    assert (
        "| % waiting | % waiting, A100's demand | % predicted from images/s | val accuracy |"
        in markdown[0]
    )
    assert markdown[1].startswith("| :--- | :--- | ---: |")  # text left, numbers right
    assert "| 3,000 | 300 | 1,000 | 4.0 | - | 0.0 | 2.0 | 19.0 | - |" in markdown[3]
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
    files = Pipeline("files", 800.0, 900.0).figures()
    rows = pipeline_rows({"03_files": result(files), "07_tfrecords": result(*TFRECORDS)})
    assert len(rows) == 3 and decode_ceilings(rows) == [900.0, 1000.0]


def test_a_pipeline_decodes_unless_its_notebook_says_it_does_not():
    rows = pipeline_rows(
        {"07_tfrecords": result(*TFRECORDS), "08_other": result({"pipeline": "other"})}
    )
    assert [ceiling_multiple(row) for row in rows] == [0.9, 3.0, None]
    assert [decodes(row) for row in rows] == [True, False, True]


def test_charts_show_every_row_in_order_at_one_size():
    rows = pipeline_rows(
        {"07_tfrecords": result(*TFRECORDS), "08_other": result({"pipeline": "other"})}
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


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# What a lesson cell may pass to `record` by name besides its pipelines and their conditions.
HANDFUL = 5


def record_calls(path: Path) -> list[ast.Call]:
    """Every ``results.record(...)`` call in a notebook's code cells (IPython's ! and % lines aside)."""
    calls = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            python = "\n".join(
                line
                for line in cell.source.splitlines()
                if not line.lstrip().startswith(("!", "%"))
            )
            calls += [
                node
                for node in ast.walk(ast.parse(python))
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and getattr(node.func.value, "id", None) == "results"
            ]
    return calls


@pytest.mark.parametrize(
    "path", sorted(NOTEBOOKS.glob("0[0-9]_*.ipynb")), ids=lambda path: path.stem
)
def test_a_notebook_records_its_pipelines_and_a_handful_of_named_figures(path: Path):
    (call,) = record_calls(path)
    named = [keyword.arg for keyword in call.keywords if keyword.arg not in (None, "conditions")]
    expanded = [keyword for keyword in call.keywords if keyword.arg is None]
    assert len(named) <= HANDFUL, (
        f"group the figures a notebook keeps into a few named dicts: {named}"
    )
    assert len(expanded) <= 1, "one **mapping at most: a lesson's numbers, by their names"
