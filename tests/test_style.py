"""The helpers and the tests keep one style: ruff's formatter and linter, as pyproject.toml configures them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.config import ROOT


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["linter", "formatter"])
def test_ruff_has_nothing_to_say(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "helpers", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, (
        f"ruff {' '.join(command)}: run it without --check to fix\n{done.stdout}{done.stderr}"
    )
