"""A JupyterLab server on a free port, for the tests that talk to JupyterLab (lab, browser)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

LAB_TOKEN = "course-gen-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def skip_without_jupyter() -> None:
    if shutil.which("jupyter", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("jupyter is not installed next to this Python")


#: How the tests start JupyterLab by default: plain ``jupyter lab`` from this Python.
JUPYTER_LAB = (sys.executable, "-m", "jupyter", "lab")


@contextlib.contextmanager
def running_lab(root: Path, launcher=JUPYTER_LAB, extra_args=()):
    """Start JupyterLab serving ``root``; yield its base URL (token ``LAB_TOKEN``); stop it after.

    ``launcher`` is the command that starts it (by default ``jupyter lab``; ``python -m course_gen.labsetup``
    starts it as ``course.py lab`` does); the test options (a free port, the token, throwaway workspaces)
    and then ``extra_args`` follow it.
    """
    port = _free_port()
    workspaces = tempfile.TemporaryDirectory()  # leaves the user's saved JupyterLab layout alone
    command = [
        *launcher, "--no-browser", "--allow-root", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={LAB_TOKEN}",
        f"--LabApp.workspaces_dir={workspaces.name}", *extra_args,
    ]
    server = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get_json(f"{base}/api/status?token={LAB_TOKEN}")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        workspaces.cleanup()
