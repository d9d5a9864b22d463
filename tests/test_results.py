"""Results round-trip through JSON with their context, and build the comparison table and chart."""
from __future__ import annotations

import json
from datetime import datetime

import numpy as np

from helpers.config import settings
from helpers.results import (comparison_rows, format_table, load_results, missing_results, plot_comparison,
                             record)


def test_record_and_load_round_trip_with_context(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    path = record("02_tf_data", images_per_second=np.float32(812.5), epochs=2)
    assert path == tmp_path / "02_tf_data.json"
    result = load_results()["02_tf_data"]
    assert result["numbers"] == {"images_per_second": 812.5, "epochs": 2}
    context = result["context"]
    assert {"scale", "dataset", "image_size", "batch_size", "cpu_count", "tensorflow"} <= context.keys()
    assert context["image_size"] == settings().scale.image_size
    assert datetime.fromisoformat(context["measured_at"]).tzinfo is not None


def test_table_rows_come_from_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    record("01_baseline", images_per_second=100.0, peak_mib=900.0)
    record("02_tf_data", images_per_second=450.0)
    rows = comparison_rows(load_results(), metrics=["images_per_second", "peak_mib"])
    assert [row["notebook"] for row in rows] == ["01_baseline", "02_tf_data"]
    assert rows[1]["images_per_second"] == 450.0 and rows[1]["peak_mib"] is None
    table = format_table(rows).splitlines()
    assert table[0].split()[:3] == ["notebook", "images_per_second", "peak_mib"]
    assert table[2].split()[:3] == ["02_tf_data", "450.00", "-"]
    figure = plot_comparison(rows)
    assert len(figure.axes[0].patches) == 2


def test_missing_results_name_the_notebook_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_RESULTS_DIR", str(tmp_path))
    (tmp_path / "01_baseline.json").write_text(json.dumps({"numbers": {}, "context": {}}))
    messages = missing_results(["01_baseline", "03_cache"], load_results())
    assert len(messages) == 1 and "03_cache" in messages[0] and "03_cache.ipynb" in messages[0]
