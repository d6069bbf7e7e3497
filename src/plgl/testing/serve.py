"""`plgl serve` in a subprocess on a free loopback port: for tests and benchmarks that need the
real server (real sockets, several worker processes, processes to kill)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 90.0,
    ready: Callable[[subprocess.Popen[bytes]], bool] | None = None,
    quiet: bool = True,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run `plgl serve --port P *args` with `env` on top of this process's environment; yield
    (base URL, process) once `GET /api/domain` answers 200 and `ready(process)` holds (say, all
    its workers are up). RuntimeError when it exits or `timeout` seconds pass first. On leaving:
    SIGTERM, and SIGKILL to its process group (workers included) if it is not gone in 60 s.
    `quiet` hides its standard error as well as its output."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "plgl.cli", "serve", "--port", str(port), *args]
    process = subprocess.Popen(
        command,
        env=os.environ | dict(env or {}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if quiet else None,
        start_new_session=True,  # its own process group: the workers go with it
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + "/api/domain").status_code == 200
        except httpx.TransportError:
            return False

    try:
        deadline = time.monotonic() + timeout
        while not (up() and (ready is None or ready(process))):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"plgl serve {' '.join(args)} did not start")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
