"""Every notebook opens in Colab from its own badge, and its setup cell touches nothing outside Colab."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
COLAB = "https://colab.research.google.com/github/fast-image-pipelines/course/blob/main/notebooks/"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'>]+")
COLAB_GUARD = re.compile(r"""if ["']google\.colab["'] in sys\.modules:\s*(#.*)?""")
# Colab ships these: installing them again would swap its runtime's versions underneath it.
COLAB_SHIPS = {"tensorflow", "keras", "tensorboard", "numpy", "matplotlib", "pillow", "scipy", "tqdm"}

every_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])


def unguarded_lines(source: str) -> list[str]:
    """The shell (``!``) and magic (``%``) lines of a cell that would also run outside Colab."""
    found, guard_indent = [], None
    for line in source.splitlines():
        code = line.lstrip()
        if not code or code.startswith("#"):
            continue
        indent = len(line) - len(code)
        if guard_indent is not None and indent <= guard_indent:
            guard_indent = None  # the guarded block has ended
        if guard_indent is None:
            if COLAB_GUARD.fullmatch(code):
                guard_indent = indent
            elif code[0] in "!%":
                found.append(line)
    return found


def pip_installs(source: str) -> list[str]:
    """The package names a cell's ``%pip install`` / ``!pip install`` lines ask for."""
    names = []
    for words in (line.split() for line in source.splitlines()):
        if "install" in words and any(word.lstrip("!%").endswith("pip") for word in words):
            arguments = [word.strip("'\"") for word in words[words.index("install") + 1:]]
            names += [re.split(r"[\[<>=!~;]", word)[0].lower() for word in arguments if not word.startswith("-")]
    return names


def setup_cell(path: Path) -> str:
    """A notebook's first code cell."""
    notebook = nbformat.read(path, as_version=4)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code")


@every_notebook
def test_badge_opens_this_notebook(path: Path) -> None:
    links = COLAB_LINK.findall(nbformat.read(path, as_version=4).cells[0].source)
    assert links and set(links) == {COLAB + path.name}, f"{path.name}: its first cell's Colab links: {links}"


@every_notebook
def test_setup_cell_acts_only_on_colab(path: Path) -> None:
    source = setup_cell(path)
    assert unguarded_lines(source) == [], f"{path.name}: shell or magic lines run outside Colab"
    assert COLAB_SHIPS.isdisjoint(pip_installs(source)), f"{path.name}: reinstalls what Colab ships"


def test_the_checks_read_cells_as_python_does() -> None:
    cell = ('if "google.colab" in sys.modules:  # Colab\n    %pip install x\n'
            '    if True:\n        !ls\nelse:\n    %cd ..\n')
    assert unguarded_lines(cell) == ["    %cd .."]
    assert pip_installs('!pip install -q "tensorflow>=2" pillow[extra] x') == ["tensorflow", "pillow", "x"]
