"""Shared fixtures: every test writes under a temporary folder, never into the course."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest


@pytest.fixture(scope="session")
def course_dirs(tmp_path_factory):
    """Data, logs and results folders shared by the session (the quick dataset is generated once)."""
    base = tmp_path_factory.mktemp("course")
    return {name: base / name for name in ("data", "logs", "results")}


@pytest.fixture(autouse=True)
def _course_env(course_dirs, monkeypatch):
    for name, path in course_dirs.items():
        monkeypatch.setenv(f"COURSE_{name.upper()}_DIR", str(path))
    monkeypatch.setenv("COURSE_SCALE", "quick")
    monkeypatch.setenv("COURSE_DATASET", "embedded")


@pytest.fixture(scope="session")
def quick_dataset(course_dirs):
    """The quick embedded dataset, generated once per test session."""
    from helpers.embedded import generate_embedded

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_DATA_DIR", str(course_dirs["data"]))
        return generate_embedded("quick", progress=False)


@pytest.fixture(scope="session")
def colab_venv():
    """The venv of Colab's runtime versions (tests/colab_venv.py), built once and cached."""
    from colab_venv import colab_venv as build

    return build()


@pytest.fixture(scope="session")
def published_url(tmp_path_factory) -> str:
    """The address of a repository made from this checkout, as the setup cells clone it in the Colab runs."""
    from published_course import publish

    return publish(tmp_path_factory.mktemp("published") / "course").as_uri()
