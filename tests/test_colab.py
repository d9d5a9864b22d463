"""Every notebook opens in Colab from its own badge, and its setup cell works there (and on Kaggle).

The course's address lives in one place, pyproject.toml's ``[project.urls] Repository``, and the git
ref its badges open and its setup cells clone in one more, ``[tool.course] ref``: the README, every
badge and every setup cell must use them, and a notebook opened from a ref clones that ref. The
setup cell's Colab branch runs here against a stand-in ``google.colab`` module and a local
repository, and must stop with one message when the address is wrong. What the setup cell installs must
leave Colab's published runtimes (tests/colab_runtime.txt, tests/colab_tpu_runtime.txt) as they are:
the profiler plugin, installed without its dependencies, is none of their packages and its generated
protobuf code asks for no newer protobuf than theirs; TensorFlow on the TPU runtime passes a resolver
dry-run constrained to that runtime's versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import nbformat
import pytest
from colab_venv import COLAB_RUNTIME, canonical, missing
from IPython.core.inputtransformer2 import TransformerManager
from published_course import git, publish

from helpers import colab, publishing
from helpers.publishing import colab_url, course_ref, repository_url

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COLAB_TPU_RUNTIME = Path(__file__).with_name("colab_tpu_runtime.txt")
RUNTIMES = {"colab": COLAB_RUNTIME, "colab-tpu": COLAB_TPU_RUNTIME}
PLUGIN = colab.RUNTIME_LACKS["tensorboard_plugin_profile"]
# The protobuf version a generated ``_pb2.py`` file asks of the runtime, where it checks.
GENCODE_CHECK = re.compile(
    r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,"
    r"\s*(\d+),\s*(\d+),\s*(\d+)"
)
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'>]+")
COLAB_GUARD = re.compile(
    r"""if ["']google\.colab["'] in sys\.modules"""
    r""" or ["']KAGGLE_KERNEL_RUN_TYPE["'] in os\.environ:\s*(#.*)?"""
)
# Colab ships these: installing them again would swap its runtime's versions underneath it.
COLAB_SHIPS = {
    "tensorflow",
    "keras",
    "tensorboard",
    "numpy",
    "matplotlib",
    "pillow",
    "scipy",
    "tqdm",
}

every_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])


def unguarded_lines(source: str) -> list[str]:
    """The shell (``!``) and magic (``%``) lines of a cell that would also run outside Colab and Kaggle."""
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
            arguments = [word.strip("'\"") for word in words[words.index("install") + 1 :]]
            names += [
                re.split(r"[\[<>=!~;]", word)[0].lower()
                for word in arguments
                if not word.startswith("-")
            ]
    return names


def setup_cell(path: Path) -> str:
    """A notebook's first code cell."""
    notebook = nbformat.read(path, as_version=4)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code")


def test_the_address_is_pyprojects() -> None:
    assert repository_url() == "https://github.com/fast-image-pipelines/course"
    assert course_ref() == publishing._pyproject()["tool"]["course"]["ref"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert repository_url() in readme, "the README does not name the course's address"
    stale = set(re.findall(r"https://github\.com/fast-image-pipelines/[\w.-]+", readme))
    assert stale <= {repository_url()}, f"the README names other addresses of the course: {stale}"


def test_the_ref_is_a_setting_defaulting_to_main(monkeypatch) -> None:
    urls = {"urls": {"Repository": repository_url()}}
    monkeypatch.setattr(publishing, "_pyproject", lambda: {"project": urls})
    assert course_ref() == "main"
    monkeypatch.setattr(
        publishing, "_pyproject", lambda: {"project": urls, "tool": {"course": {"ref": "v9.9.9"}}}
    )
    assert "/blob/v9.9.9/notebooks/00_setup_and_data.ipynb" in publishing.badge("00_setup_and_data")
    assert '"v9.9.9"  # address, branch or tag' in publishing.setup_cell("00_setup_and_data")


@every_notebook
def test_badge_and_setup_cell_use_one_ref(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    links = COLAB_LINK.findall(notebook.cells[0].source)
    opened = {re.search(r"/blob/([^/]+)/notebooks/", link).group(1) for link in links}
    cloned = re.search(r'^\s*URL, REF = "[^"]+", "([^"]+)"', setup_cell(path), re.MULTILINE).group(
        1
    )
    assert opened == {cloned} == {course_ref()}, (
        f"{path.name}: the badge opens {opened}, the cell clones {cloned}"
    )


@every_notebook
def test_badge_opens_this_notebook(path: Path) -> None:
    links = COLAB_LINK.findall(nbformat.read(path, as_version=4).cells[0].source)
    assert links and set(links) == {colab_url(path.name)}, (
        f"{path.name}: its first cell's Colab links: {links}"
    )


@every_notebook
def test_setup_cell_is_written_from_pyproject(path: Path) -> None:
    source = setup_cell(path)
    assert source == publishing.setup_cell(path.stem), (
        f"{path.name}: run `python3 -m helpers.course outputs`"
    )
    assert f'"{repository_url()}", "{course_ref()}"' in source


@every_notebook
def test_setup_cell_acts_only_on_colab_or_kaggle(path: Path) -> None:
    source = setup_cell(path)
    assert unguarded_lines(source) == [], f"{path.name}: shell or magic lines run outside Colab"
    assert COLAB_SHIPS.isdisjoint(pip_installs(source)), f"{path.name}: reinstalls what Colab ships"
    # where missing
    installs = {word.split("==")[0] for words in colab.RUNTIME_LACKS.values() for word in words}
    assert COLAB_SHIPS.isdisjoint(installs), "helpers.colab installs what Colab ships"


def test_the_checks_read_cells_as_python_does() -> None:
    cell = (
        'if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:  # Colab\n'
        "    %pip install x\n    if True:\n        !ls\nelse:\n    %cd ..\n"
    )
    assert unguarded_lines(cell) == ["    %cd .."]
    assert pip_installs('!pip install -q "tensorflow>=2" pillow[extra] x') == [
        "tensorflow",
        "pillow",
        "x",
    ]


# The setup cell's Colab branch, run here.


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A repository holding the course's helpers, its branch named after the ref the setup cell clones."""
    return publish(tmp_path_factory.mktemp("published") / "course")


class _Shell:
    """IPython's ``get_ipython()`` as far as a setup cell needs it: ``!`` lines in a shell."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def system(self, command: str) -> None:
        subprocess.run(command.format_map(self.namespace), shell=True, cwd=os.getcwd())


def run_setup_cell(source: str, folder: Path, monkeypatch, on: str = "colab") -> dict:
    """Execute a setup cell as Colab (or Kaggle) would, in ``folder``, with the course not importable."""
    monkeypatch.chdir(folder)
    monkeypatch.setattr(
        sys, "path", [entry for entry in sys.path if entry and Path(entry).resolve() != ROOT]
    )
    monkeypatch.setattr(sys, "path_importer_cache", {})
    # An editable install of the course finds helpers wherever it was installed from: Colab has none.
    monkeypatch.setattr(
        sys,
        "meta_path",
        [finder for finder in sys.meta_path if not finder.__module__.startswith("__editable__")],
    )
    for name in [name for name in sys.modules if name == "helpers" or name.startswith("helpers.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    if on == "colab":
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    namespace: dict = {}
    namespace["get_ipython"] = lambda: _Shell(namespace)
    exec(TransformerManager().transform_cell(source), namespace)
    return namespace


@pytest.mark.parametrize("on", ["colab", "kaggle"])
def test_setup_cell_fetches_the_course(on, published, tmp_path, monkeypatch) -> None:
    source = publishing.setup_cell("00_setup_and_data").replace(
        repository_url(), published.as_uri()
    )
    namespace = run_setup_cell(source, tmp_path, monkeypatch, on)
    assert namespace["settings"].notebook == "00_setup_and_data"
    assert (tmp_path / "course" / "helpers" / "colab.py").is_file()
    assert Path.cwd() == tmp_path / "course" / "notebooks"  # where the notebooks' own paths start
    assert sys.modules["helpers.config"].ROOT == tmp_path / "course"
    # the cell run again: nothing cloned twice
    namespace = run_setup_cell(source, Path.cwd(), monkeypatch, on)
    assert not (tmp_path / "course" / "notebooks" / "course").exists()


@pytest.mark.parametrize("address", ["wrong", "no helpers"])
def test_setup_cell_stops_with_what_to_do(address, published, tmp_path, monkeypatch, capfd) -> None:
    if address == "wrong":
        url = (tmp_path / "nowhere").as_uri()
    else:
        elsewhere = tmp_path / "elsewhere"
        shutil.copytree(published, elsewhere)
        git("rm", "-q", "-r", "helpers", cwd=elsewhere)
        git("commit", "-q", "-m", "no helpers", cwd=elsewhere)
        url = elsewhere.as_uri()
    source = publishing.setup_cell("00_setup_and_data").replace(repository_url(), url)
    with pytest.raises(SystemExit) as stopped:
        run_setup_cell(source, tmp_path, monkeypatch)
    assert str(stopped.value) == f"No course at {url}: fix URL, or unzip it to course/"


def test_set_up_stops_with_what_failed(monkeypatch) -> None:
    monkeypatch.setattr(
        colab, "missing", lambda: [("--no-deps", "tensorboard-plugin-profile==2.24.2")]
    )
    monkeypatch.setattr(
        colab, "PIP", (sys.executable, "-c", "import sys; sys.exit('ERROR: no network')")
    )
    with pytest.raises(SystemExit) as stopped:
        colab.set_up()
    message = str(stopped.value)
    assert message.startswith(
        "Could not install --no-deps tensorboard-plugin-profile==2.24.2 (pip: ERROR: no network)"
    )
    assert "Internet on" in message


def test_the_plugin_and_tensorflow_are_installed_where_missing_and_pinned() -> None:
    # TensorBoard comes first
    assert list(colab.RUNTIME_LACKS) == ["tensorflow", "tensorboard_plugin_profile"]
    assert re.fullmatch(r"tensorflow-cpu==\d+(\.\d+)+", colab.pinned("tensorflow-cpu"))
    # The plugin is requirements.txt's, with its xprof, and without dependencies that would move Colab's.
    required = re.search(
        r"^tensorboard-plugin-profile==\S+", (ROOT / "requirements.txt").read_text(), re.MULTILINE
    )
    version = colab.pinned("tensorboard-plugin-profile").split("==")[1]
    assert PLUGIN == ("--no-deps", required.group(0), f"xprof=={version}")


# What the setup cell installs, against Colab's published runtimes.


def runtime_list(path: Path = COLAB_RUNTIME) -> tuple[str, dict[str, str]]:
    """A runtime's Python version and its pinned packages, from its list under tests/."""
    text = path.read_text(encoding="utf-8")
    python = re.search(r"^# python: (\d+\.\d+)$", text, re.MULTILINE).group(1)
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.MULTILINE))
    return python, {canonical(name): version for name, version in pins.items()}


def test_the_runtime_lists_name_their_source_and_date() -> None:
    for path, published in (
        (COLAB_RUNTIME, "pip-freeze.txt"),
        (COLAB_TPU_RUNTIME, "pip-freeze.tpu.txt"),
    ):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert "googlecolab/backend-info" in header and published in header
        assert re.search(r"\d{4}-\d{2}-\d{2}", header)
    python, pins = runtime_list()
    assert python == "3.13" and pins["tensorflow"] == "2.20.0" and pins["keras"] == "3.13.2"
    python, pins = runtime_list(COLAB_TPU_RUNTIME)
    assert python == "3.13" and "tensorflow" not in pins and "jax" in pins and "libtpu" in pins


@pytest.fixture(scope="module")
def plugin_wheels() -> list[Path]:
    """The plugin's pinned wheels for Colab's Python, downloaded once into a cache folder outside the repository."""
    pins = PLUGIN[1:]
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fast-image-pipelines"
    )
    folder = cache / ("wheels-" + "-".join(pin.replace("==", "-") for pin in pins))
    if not (folder / "complete").is_file():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                runtime_list()[0],
                "--dest",
                str(folder),
                *pins,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode:
            missing(f"the package index is out of reach: {done.stderr.strip().splitlines()[-1:]}")
        (folder / "complete").write_text(" ".join(pins) + "\n")
    return sorted(folder.glob("*.whl"))


def gencode_versions(wheel: Path) -> set[tuple[int, int, int]]:
    """The protobuf versions that a wheel's generated ``_pb2.py`` files check the runtime against."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            tuple(map(int, found.groups()))
            for name in archive.namelist()
            if name.endswith("_pb2.py")
            for found in GENCODE_CHECK.finditer(archive.read(name).decode())
        }


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_plugin_leaves_the_runtimes_packages_and_loads_with_their_protobuf(
    runtime, plugin_wheels
) -> None:
    """Installed without dependencies, the plugin adds its two packages and nothing else; protobuf refuses
    generated code that checks for a newer protobuf than the runtime's."""
    _, pins = runtime_list(RUNTIMES[runtime])
    assert [canonical(wheel.name.split("-")[0]) for wheel in plugin_wheels] == [
        "tensorboard-plugin-profile",
        "xprof",
    ]
    assert {"tensorboard-plugin-profile", "xprof"}.isdisjoint(pins), (
        f"{runtime} ships the plugin: install none"
    )
    runtime_protobuf = tuple(int(part) for part in pins["protobuf"].split(".")[:3])
    refused = {
        f"{wheel.name}: {'.'.join(map(str, version))}"
        for wheel in plugin_wheels
        for version in gencode_versions(wheel)
        if version > runtime_protobuf
    }
    assert refused == set(), (
        f"{runtime}'s protobuf {pins['protobuf']} refuses the plugin's generated code"
    )


def test_tensorflow_fits_beside_the_tpu_runtime(tmp_path: Path) -> None:
    """A resolver dry-run for the TPU runtime's Python, constrained to its versions: nothing of its own
    changes, and TensorFlow brings the TensorBoard that the plugin needs there."""
    python, pins = runtime_list(COLAB_TPU_RUNTIME)
    wanted = colab.pinned("tensorflow-cpu")
    reachable = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "tensorflow-cpu"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if reachable.returncode:
        missing(f"the package index is out of reach: {reachable.stderr.strip().splitlines()[-1:]}")
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "--target",
            str(tmp_path / "target"),
            "--python-version",
            python,
            "--only-binary=:all:",
            "-c",
            str(COLAB_TPU_RUNTIME),
            wanted,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"{wanted} does not install beside the TPU runtime:\n{done.stderr[-2000:]}"
    )
    installed = {
        canonical(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    changed = {
        name: (pins[name], version)
        for name, version in installed.items()
        if name in pins and pins[name] != version
    }
    assert changed == {}, f"{wanted} would change the TPU runtime's own packages: {changed}"
    assert f"tensorflow-cpu=={installed['tensorflow-cpu']}" == wanted and "tensorboard" in installed
