"""Set the course up and start it: ``python3 -m helpers.course lab | test | bench | outputs | run``.

Standard library only, so it runs on a bare Python 3.11.4+ before anything is installed.
Each command first makes sure ``.venv`` holds ``requirements.txt`` (installing only
when the requirements changed since the last install), then runs inside it
(``outputs`` and ``run`` execute notebooks through ``helpers.runner``):

- ``lab``: open the course in JupyterLab on ``notebooks/``.
- ``test``: the helpers' unit tests, the browser tests and nbval over every notebook, in
  quick mode. As root on Debian it first installs Debian's Chromium for the browser tests.
- ``bench [OPTIONS]``: the input-pipeline benchmark (``python -m helpers.bench --help``).
- ``outputs [NOTEBOOK ...]``: re-run notebooks top to bottom in quick mode and save
  their outputs in place (what is committed, and what nbval compares against).
- ``run [--scale S] [--dataset D] [--out DIR] [NOTEBOOK ...]``: the whole course (or the
  notebooks named) without a browser, at any scale and on any dataset; the executed copies,
  results and traces go to ``DIR`` (default ``runs/<scale>-<dataset>-<time>/``), the
  committed notebooks stay as they are. It ends with the results table of notebook 11.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from helpers.config import QUICK_ENV

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "requirements.sha256"
# Native libraries' own logs (TensorFlow's C++ start-up lines, libjpeg warnings) go to the
# terminal, as on Colab, instead of into cell outputs where they would differ on every run.
KERNEL_CONFIG = VENV / "etc" / "ipython" / "ipython_kernel_config.py"
KERNEL_SETTINGS = "c.IPKernelApp.capture_fd_output = False\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m helpers.course",
        description=__doc__.split("\n")[0],
        # a typo such as --scal must not pass for --scale
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lab", add_help=False, help="set up, then open the course in JupyterLab")
    commands.add_parser(
        "test", add_help=False, help="set up, then run every test (extra arguments go to pytest)"
    )
    commands.add_parser(
        "bench",
        add_help=False,
        help="set up, then run the input-pipeline benchmark (extra arguments go to it)",
    )
    outputs = commands.add_parser(
        "outputs", help="re-run notebooks in quick mode and save their outputs"
    )
    outputs.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every notebook, in order"
    )
    run = commands.add_parser(
        "run",
        allow_abbrev=False,
        help="run the course headless into a folder of its own, then print the results",
    )
    run.add_argument(
        "--scale",
        choices=("quick", "full"),
        default=os.environ.get("COURSE_SCALE", "quick"),
        help="quick (default): 128 px, a small CNN, 2 epochs; full: 224 px, pretrained EfficientNetB3",
    )
    run.add_argument(
        "--dataset",
        default=os.environ.get("COURSE_DATASET", "embedded"),
        help="a dataset name (embedded, flowers, ...) or the path of a folder of class folders",
    )
    run.add_argument(
        "--out",
        type=Path,
        help="where the executed notebooks, results and traces go "
        "(default: runs/<scale>-<dataset>-<time>/)",
    )
    run.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook, in order")
    args, extra = parser.parse_known_args(argv)
    if args.command in ("outputs", "run"):
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if missing := [str(path) for path in args.notebooks if not path.is_file()]:
            parser.error(f"no such notebook: {', '.join(missing)}")
    if sys.version_info < (3, 11, 4):
        sys.exit("The course needs Python 3.11.4 or newer (for safe archive extraction).")
    if Path(sys.prefix).resolve() != VENV.resolve():
        set_up()
        return subprocess.call(
            [str(VENV_PYTHON), "-m", "helpers.course", *(argv or sys.argv[1:])], cwd=ROOT
        )
    if args.command in ("outputs", "run"):
        from helpers import runner  # needs nbclient: only inside the environment

        if args.command == "outputs":
            return runner.refresh_outputs(args.notebooks)
        return runner.run_course(args.notebooks, args.scale, args.dataset, args.out)
    return {"lab": lab, "test": test, "bench": bench}[args.command](extra)


def set_up() -> None:
    """Create .venv and install the requirements into it, unless that is already done."""
    wanted = hashlib.sha256(
        b"".join((ROOT / f).read_bytes() for f in ("requirements.txt", "pyproject.toml"))
    )
    if VENV_PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted.hexdigest():
        return _configure_kernel()
    print(f"Setting up {VENV.name} (first run, or the requirements changed) ...", flush=True)
    if not VENV_PYTHON.exists():
        venv.create(VENV, with_pip=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*pip, "-r", "requirements.txt"], cwd=ROOT, check=True)
    STAMP.write_text(wanted.hexdigest())
    _configure_kernel()


def _configure_kernel() -> None:
    if not KERNEL_CONFIG.exists() or KERNEL_CONFIG.read_text() != KERNEL_SETTINGS:
        KERNEL_CONFIG.parent.mkdir(parents=True, exist_ok=True)
        KERNEL_CONFIG.write_text(KERNEL_SETTINGS)


def lab(extra: list[str]) -> int:
    """Open JupyterLab on the notebooks (extra arguments go to JupyterLab)."""
    # Jupyter refuses to start as root (containers, cloud shells) unless told that is intended.
    as_root = ["--allow-root"] if _is_root() else []
    return subprocess.call(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            f"--ServerApp.root_dir={ROOT / 'notebooks'}",
            *as_root,
            *extra,
        ],
        cwd=ROOT,
    )


def test(extra: list[str]) -> int:
    """Unit and browser tests, then every notebook re-run and compared with its committed outputs."""
    install_chromium()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests",
        "notebooks",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        "tests/nbval_sanitize.cfg",
        "--nbval-cell-timeout=600",
        *extra,
    ]
    return subprocess.call(command, cwd=ROOT, env={**os.environ, **QUICK_ENV})


def install_chromium() -> None:
    """Install Debian's Chromium for the browser tests when it is missing and apt-get can.

    Only as root with apt-get (Debian, Ubuntu, CI); elsewhere the browser tests skip and say why.
    """
    if shutil.which("chromium") or not (_is_root() and shutil.which("apt-get")):
        return
    print("Installing Debian's chromium for the browser tests (apt-get, once) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "-qq", "update"],
        ["apt-get", "-qq", "install", "-y", "--no-install-recommends", "chromium"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:  # the browser tests then skip, or fail on CI
            print(f"Could not install chromium ({' '.join(command)}):\n{done.stderr}", flush=True)
            return


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def bench(extra: list[str]) -> int:
    """The benchmark, in this environment (it asserts nothing: it prints figures)."""
    return subprocess.call(
        [sys.executable, "-m", "helpers.bench", *extra],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


if __name__ == "__main__":
    sys.exit(main())
