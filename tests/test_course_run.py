"""The headless course run: notebooks executed in order into a folder of their own, stopping at the first failure."""

from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import config, course, runner

# Records a result as results.record does, without the seconds TensorFlow takes to import.
RECORDS_A_RESULT = """
import json, os
from pathlib import Path
folder = Path(os.environ["COURSE_RESULTS_DIR"])
folder.mkdir(parents=True, exist_ok=True)
pipeline = {"pipeline": "tiny pipeline", "images_per_second": 1234.5, "epoch_seconds": [3.0, 2.0, 2.5]}
context = {"scale": os.environ["COURSE_SCALE"], "dataset": os.environ["COURSE_DATASET"], "cpu_count": 2}
result = {"notebook": "01_records", "pipelines": [pipeline], "numbers": {}, "context": context}
(folder / "01_records.json").write_text(json.dumps(result))
print("scale", os.environ["COURSE_SCALE"])
"""


def write_notebook(path, *sources):
    """A notebook of a title and one code cell per source."""
    nbformat.write(
        new_notebook(cells=[new_markdown_cell(f"# {path.stem}"), *map(new_code_cell, sources)]),
        path,
    )
    return path


def test_run_executes_into_its_folder_and_prints_the_results_table(tmp_path, monkeypatch, capsys):
    notebook = write_notebook(
        tmp_path / "01_records.ipynb",
        RECORDS_A_RESULT,
        'print("dataset", os.environ["COURSE_DATASET"])',
    )
    (tmp_path / "photos").mkdir()
    monkeypatch.chdir(tmp_path)  # a dataset folder given relative to where the command runs
    out = tmp_path / "run"

    status = course.main(
        ["run", "--scale", "full", "--dataset", "photos", "--out", str(out), str(notebook)]
    )

    printed = capsys.readouterr().out
    assert status == 0
    assert "[1/1] 01_records.ipynb ... done in" in printed
    executed = nbformat.read(out / "01_records.ipynb", as_version=4).cells
    assert [cell.execution_count for cell in executed[1:]] == [1, 2]
    assert executed[1].outputs[0].text == "scale full\n"
    # absolute for the kernel
    assert executed[2].outputs[0].text == f"dataset {(tmp_path / 'photos').resolve()}\n"
    assert (
        json.loads((out / "results" / "01_records.json").read_text())["context"]["scale"] == "full"
    )
    table = printed[printed.index("Results in") :].splitlines()
    assert table[1].split()[:3] == ["notebook", "pipeline", "images/s"]
    assert table[2].startswith("01_records") and "tiny pipeline" in table[2] and "1,234" in table[2]
    # the notebook run is left as it was
    assert notebook.read_text().count('"execution_count": null') == 2


def test_run_stops_at_the_first_failure_and_says_where(tmp_path, capsys):
    first = write_notebook(tmp_path / "01_records.ipynb", RECORDS_A_RESULT)
    failing = write_notebook(
        tmp_path / "02_fails.ipynb",
        "x = 1",
        "# a comment first\nraise ValueError('bad batch')",
        "print('after the failure')",
    )
    stale = nbformat.read(failing, as_version=4)
    stale.cells[3].outputs = [new_output("stream", text="from an earlier run\n")]
    nbformat.write(stale, failing)
    never = write_notebook(tmp_path / "03_never.ipynb", "print('never run')")
    out = tmp_path / "run"

    status = runner.run_course([first, failing, never], out=out)

    printed = capsys.readouterr()
    assert status == 1
    assert "[2/3] 02_fails.ipynb ... failed after" in printed.out and "[3/3]" not in printed.out
    message = printed.err
    assert "02_fails.ipynb stopped in cell [2] (cell 3 of 4), which starts:" in message
    assert "raise ValueError('bad batch')" in message and "ValueError: bad batch" in message
    assert (
        f"The executed copy, traceback included, is in {runner.display_path(out / '02_fails.ipynb')}"
        in message
    )
    copy = nbformat.read(out / "02_fails.ipynb", as_version=4).cells
    assert copy[2].outputs[0].output_type == "error" and copy[3].outputs == []
    assert not (out / "03_never.ipynb").exists()
    assert "tiny pipeline" in printed.out  # the table still shows what ran


def test_outputs_refresh_in_place_and_keep_a_failed_notebook_as_it_was(tmp_path):
    good = write_notebook(tmp_path / "01_good.ipynb", "print(6 * 7)")
    failing = write_notebook(tmp_path / "02_fails.ipynb", "1 / 0")
    committed = failing.read_text()
    failed_copies = tmp_path / "failed"

    status = runner.execute_notebooks(
        [good, failing],
        dict(config.QUICK_ENV),
        60,
        save_as=lambda path: path,
        save_failed_as=lambda path: failed_copies / path.name,
    )

    assert status == 1
    assert nbformat.read(good, as_version=4).cells[1].outputs[0].text == "42\n"
    assert failing.read_text() == committed
    failed_copy = nbformat.read(failed_copies / "02_fails.ipynb", as_version=4)
    assert failed_copy.cells[1].outputs[0].ename == "ZeroDivisionError"


def test_run_folder_names_come_from_the_dataset():
    assert runner._slug("flowers") == "flowers"
    assert runner._slug("~/photos/my classes/") == "my-classes"
