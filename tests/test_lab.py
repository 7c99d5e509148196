"""JupyterLab serves the course notebooks with the widget and plotly extensions installed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TOKEN = "course-gen-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def lab_url():
    if shutil.which("jupyter", path=os.path.dirname(sys.executable)) is None:
        pytest.skip("jupyter is not installed next to this Python")
    port = free_port()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
    ]
    server = subprocess.Popen(command, cwd=NOTEBOOKS, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get_json(f"{base}/api/status?token={TOKEN}")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_lab_lists_the_course_notebooks(lab_url):
    listing = get_json(f"{lab_url}/api/contents?token={TOKEN}")
    served = {item["name"] for item in listing["content"]}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} <= served
    assert "00_tour.ipynb" in served


def test_lab_has_the_widget_and_plotly_extensions(lab_url):
    extensions = {item["name"] for item in get_json(f"{lab_url}/lab/api/extensions?token={TOKEN}")}
    needed = {"jupyter-widgets-jupyterlab-manager", "jupyterlab-plotly", "anywidget"}
    assert needed <= extensions, f"missing JupyterLab extensions: {sorted(needed - extensions)}"
