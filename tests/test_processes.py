"""Child processes start once ready, get their arguments, report failures, and never outlive their parent."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from helpers import processes


def _script(folder, name, body):
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def _gone(pid, within=10.0):
    """Whether process ``pid`` has ended within ``within`` seconds (a zombie has ended: it waits to be reaped)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


SERVER = """
    import sys, time
    print("starting", sys.argv[1:])
    time.sleep(0.3)
    print("ready")
    time.sleep(3600)
"""


def test_start_waits_for_ready_and_stop_ends_the_child(tmp_path):
    script = _script(tmp_path, "server.py", SERVER)
    child = processes.start(script, "a", 2, log=tmp_path / "server.log")
    try:
        assert child.poll() is None
        assert (tmp_path / "server.log").read_text().splitlines() == [
            "starting ['a', '2']",
            "ready",
        ]
    finally:
        started = time.monotonic()
        code = processes.stop(child)
    assert code == 0  # it left through its lifeline, not by a kill
    assert time.monotonic() - started < 5


def test_running_stops_the_child_when_the_block_fails(tmp_path):
    script = _script(tmp_path, "server.py", SERVER)
    with pytest.raises(KeyError):
        with processes.running(script, log=tmp_path / "server.log") as child:
            raise KeyError("the block failed")
    assert child.poll() is not None


def test_a_script_that_fails_before_ready_is_reported_with_its_output(tmp_path):
    script = _script(
        tmp_path,
        "broken.py",
        """
        import sys
        sys.exit("cannot reach the dispatcher")
    """,
    )
    with pytest.raises(
        RuntimeError, match=r"broken\.py exited with code 1(.|\n)*cannot reach the dispatcher"
    ):
        processes.start(script, log=tmp_path / "broken.log")


def test_a_silent_script_times_out_and_is_stopped(tmp_path):
    pid_file = tmp_path / "pid"
    script = _script(
        tmp_path,
        "silent.py",
        f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(3600)
    """,
    )
    with pytest.raises(RuntimeError, match=r"silent\.py was not ready within 2 s"):
        processes.start(script, log=tmp_path / "silent.log", timeout=2)
    assert _gone(int(pid_file.read_text()))


def test_the_child_exits_when_its_parent_dies(tmp_path):
    script = _script(tmp_path, "server.py", SERVER)
    parent = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import os
            from helpers import processes
            child = processes.start({str(script)!r}, log={str(tmp_path / "server.log")!r})
            print(child.pid, flush=True)
            os._exit(0)  # dies without stopping its child
        """),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(processes.__file__).parents[1],
    )
    assert parent.returncode == 0, parent.stderr
    assert _gone(int(parent.stdout))


def test_free_port_can_be_bound_on_every_interface():
    port = processes.free_port()
    with socket.socket() as server:
        server.bind(("", port))
