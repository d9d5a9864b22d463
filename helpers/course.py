"""Set the course up and run it: ``python3 -m helpers.course lab | test | bench | outputs``.

Standard library only, so it runs on a bare Python 3.10+ before anything is installed.
Each command first makes sure ``.venv`` holds ``requirements.txt`` (installing only
when the requirements changed since the last install), then runs inside it:

- ``lab``: open the course in JupyterLab on ``notebooks/``.
- ``test``: the helpers' unit tests, the browser tests and nbval over every notebook, in
  quick mode. As root on Debian it first installs Debian's Chromium for the browser tests.
- ``bench [OPTIONS]``: the input-pipeline benchmark (``python -m helpers.bench --help``).
- ``outputs [NOTEBOOK ...]``: re-run notebooks top to bottom in quick mode and save
  their outputs in place (what is committed, and what nbval compares against).
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

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "requirements.sha256"
# Native libraries' own logs (TensorFlow's C++ start-up lines, libjpeg warnings) go to the
# terminal, as on Colab, instead of into cell outputs where they would differ on every run.
KERNEL_CONFIG = VENV / "etc" / "ipython" / "ipython_kernel_config.py"
KERNEL_SETTINGS = "c.IPKernelApp.capture_fd_output = False\n"
# Quick, offline and quiet: the settings every test and committed output is made with.
QUICK_ENV = {"COURSE_SCALE": "quick", "COURSE_DATASET": "embedded", "TF_CPP_MIN_LOG_LEVEL": "3",
             "PYTHONHASHSEED": "0"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m helpers.course", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lab", add_help=False, help="set up, then open the course in JupyterLab")
    commands.add_parser("test", add_help=False, help="set up, then run every test (extra arguments go to pytest)")
    commands.add_parser("bench", add_help=False, help="set up, then run the input-pipeline benchmark (extra arguments go to it)")
    outputs = commands.add_parser("outputs", help="re-run notebooks in quick mode and save their outputs")
    outputs.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook, in order")
    args, extra = parser.parse_known_args(argv)
    if sys.version_info < (3, 10):
        sys.exit("The course needs Python 3.10 or newer (3.11 is what it is tested with).")
    if Path(sys.prefix).resolve() != VENV.resolve():
        set_up()
        return subprocess.call([str(VENV_PYTHON), "-m", "helpers.course", *(argv or sys.argv[1:])], cwd=ROOT)
    return {"lab": lambda: lab(extra), "test": lambda: test(extra), "bench": lambda: bench(extra),
            "outputs": lambda: refresh_outputs(args.notebooks)}[args.command]()


def set_up() -> None:
    """Create .venv and install the requirements into it, unless that is already done."""
    wanted = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in ("requirements.txt", "pyproject.toml")))
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
    return subprocess.call([sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
                            *as_root, *extra], cwd=ROOT)


def test(extra: list[str]) -> int:
    """Unit and browser tests, then every notebook re-run and compared with its committed outputs."""
    install_chromium()
    command = [sys.executable, "-m", "pytest", "tests", "notebooks", "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "--nbval-cell-timeout=600", *extra]
    return subprocess.call(command, cwd=ROOT, env={**os.environ, **QUICK_ENV})


def install_chromium() -> None:
    """Install Debian's Chromium for the browser tests when it is missing and apt-get can.

    Only as root with apt-get (Debian, Ubuntu, CI); elsewhere the browser tests skip and say why.
    """
    if shutil.which("chromium") or not (_is_root() and shutil.which("apt-get")):
        return
    print("Installing Debian's chromium for the browser tests (apt-get, once) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "-qq", "update"],
                    ["apt-get", "-qq", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:  # the browser tests then skip, or fail on CI
            print(f"Could not install chromium ({' '.join(command)}):\n{done.stderr}", flush=True)
            return


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def bench(extra: list[str]) -> int:
    """The benchmark, in this environment (it asserts nothing: it prints figures)."""
    return subprocess.call([sys.executable, "-m", "helpers.bench", *extra], cwd=ROOT,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def refresh_outputs(notebooks: list[Path]) -> int:
    """Execute notebooks top to bottom in a fresh kernel each and save them in place."""
    import nbclient
    import nbformat

    os.environ.update(QUICK_ENV)
    for path in notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        print(f"running {path.name} ...", flush=True)
        notebook = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(notebook, timeout=900, resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = _as_displayed(cell.outputs)
        nbformat.write(notebook, path)
    return 0


def _as_displayed(outputs: list) -> list:
    """Stream outputs as a reader sees them: progress-bar redraws collapsed to their last state."""
    tidy = []
    for output in outputs:
        if output.output_type == "stream" and tidy and tidy[-1].output_type == "stream" \
                and tidy[-1].name == output.name:
            tidy[-1].text += output.text
        else:
            tidy.append(output)
    for output in tidy:
        if output.output_type == "stream":
            output.text = "\n".join(line.rsplit("\r", 1)[-1] for line in output.text.split("\n"))
    return [output for output in tidy if output.output_type != "stream" or output.text.strip()]


if __name__ == "__main__":
    sys.exit(main())
