"""`fnosweep dashboard` in a child process on a free loopback port: what the browser test and
the docs' screenshot script both look at."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def served_dashboard(url: str, *, wait_s: float = 60.0) -> Iterator[int]:
    """Serve the storage `url` with `fnosweep dashboard`, wait up to `wait_s` for its API to
    answer, yield the port, and stop the server after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = f"from fnosweep.cli.views import dashboard; dashboard({url!r}, port={port})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
