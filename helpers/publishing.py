"""Where the course is published, and the first cells of every notebook that lead there.

The course's public address and the git ref its badges open and its setup cells clone are read
from pyproject.toml (``repository_url()``, ``course_ref()``): publishing elsewhere, or a release,
is a one-line change there. ``setup_cell`` and ``badge`` write every notebook's first cells from
them (``python -m helpers.course outputs`` refreshes them); tests/test_colab.py checks they agree.
On Colab or Kaggle the setup cell's ``start()`` then installs what the runtime lacks
(``helpers.colab``).
"""

from __future__ import annotations

import re
import tomllib

from helpers.config import ROOT


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def repository_url() -> str:
    """The course's public address: pyproject.toml's ``[project.urls] Repository``."""
    return _pyproject()["project"]["urls"]["Repository"]


def course_ref() -> str:
    """The git ref the badges open and the setup cells clone: pyproject's ``[tool.course] ref``.

    ``main`` when unset. A release: push its tag, set ``ref`` to it, then run
    ``python3 -m helpers.course outputs``.
    """
    return _pyproject().get("tool", {}).get("course", {}).get("ref", "main")


def colab_url(notebook: str) -> str:
    """The address that opens ``notebooks/<notebook>`` in Colab, at the course's ref."""
    path = repository_url().removeprefix("https://github.com/")
    return (
        f"https://colab.research.google.com/github/{path}/blob/{course_ref()}/notebooks/{notebook}"
    )


SETUP_CELL = """\
import importlib.util as util, os, sys
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:  # fetch the course
    URL, REF = "{url}", "{ref}"  # address, branch or tag
    !test -d ../helpers || git -c advice.detachedHead=0 clone -q --depth=1 -b {{REF}} {{URL}} course
    sys.path.insert(0, os.path.abspath("course"))
    util.find_spec("helpers") or sys.exit(f"No course at {{URL}}: fix URL, or unzip it to course/")
from helpers.config import start  # on Colab and Kaggle it also installs what the runtime lacks
settings = start("{notebook}")  # scale, dataset: COURSE_SCALE, COURSE_DATASET"""
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def setup_cell(notebook: str) -> str:
    """The first code cell of ``notebooks/<notebook>.ipynb``."""
    return SETUP_CELL.format(url=repository_url(), ref=course_ref(), notebook=notebook)


def badge(notebook: str) -> str:
    """The "Open in Colab" badge of ``notebooks/<notebook>.ipynb``, for its first (markdown) cell."""
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook + '.ipynb')})"
    )


def with_first_cells(markdown: str, code: str, notebook: str) -> tuple[str, str]:
    """A notebook's first markdown and first code cell with the current badge and setup cell."""
    return BADGE.sub(lambda _: badge(notebook), markdown), setup_cell(notebook)
