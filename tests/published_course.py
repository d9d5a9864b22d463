"""A git repository made from this checkout's helpers: what the setup cell's clone fetches in the Colab tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from helpers.config import ROOT
from helpers.publishing import course_ref


def git(*arguments: str, cwd: Path) -> None:
    """Run git in ``cwd`` with a fixed author and default branch, whatever the machine's configuration."""
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=course",
            "-c",
            "user.email=course@example.org",
            "-c",
            "init.defaultBranch=main",
            *arguments,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def publish(origin: Path) -> Path:
    """Commit the course's helpers, pyproject and requirements into ``origin``, on a branch named after its ref."""
    shutil.copytree(
        ROOT / "helpers", origin / "helpers", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, origin / name)
    (origin / "notebooks").mkdir()
    (origin / "notebooks" / "README.md").write_text("the notebooks\n")
    for arguments in (
        ["init", "-q"],
        ["add", "."],
        ["commit", "-q", "-m", "the course"],
        ["branch", "-M", course_ref()],
    ):
        git(*arguments, cwd=origin)
    return origin
