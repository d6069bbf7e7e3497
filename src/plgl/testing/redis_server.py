"""A real, throwaway `redis-server` for tests: a free loopback port, its own data folder.

>>> import shutil
>>> if shutil.which("redis-server"):
...     with RedisServer() as server:
...         print(server.url.startswith("redis://127.0.0.1:"))
... else:
...     print(True)
True
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


class RedisServer:
    """Starts Debian's `redis-server` with append-only persistence; stops it on exit.

    By default every write is fsynced to the append-only file before it is acknowledged
    (`appendfsync always`), so `kill()` then `start()` shows exactly what a crash of the server
    keeps.

    Args:
        directory: where the server keeps its files; None is a new temporary folder.
        executable: the server binary.
        appendfsync: "always", "everysec" (Redis's default: a crash may lose the last second)
            or "no".
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        executable: str = "redis-server",
        appendfsync: str = "always",
    ):
        self._own_dir = directory is None
        self.directory = Path(
            tempfile.mkdtemp(prefix="plgl-redis-") if directory is None else directory
        )
        self.executable = executable
        self.appendfsync = appendfsync
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available(executable: str = "redis-server") -> bool:
        """Whether the server binary is installed."""
        return shutil.which(executable) is not None

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:<port>/0` of the running server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server (on the same port and data as before, after a `stop` or `kill`)."""
        if self._process is not None:
            raise RuntimeError("the Redis server is already running")
        if shutil.which(self.executable) is None:
            raise FileNotFoundError(
                f"{self.executable!r} is not installed (apt install redis-server)"
            )
        if self.port:  # a restart: same port, same data
            self._launch(timeout)
            return self
        for attempt in range(3):  # another process may take the free port before the server
            self.port = _free_port()
            try:
                self._launch(timeout)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        return self

    def _launch(self, timeout: float) -> None:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": str(self.directory),
            "appendonly": "yes",
            "appendfsync": self.appendfsync,
            "save": "",
            "daemonize": "no",
            "logfile": str(self.directory / "redis.log"),
        }
        command = [self.executable]
        for name, value in options.items():
            command += [f"--{name}", value]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_for_ping(timeout)

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM: the server flushes its append-only file)."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Crash the server (SIGKILL): only what reached its append-only file survives."""
        self._end(signal.SIGKILL)

    def close(self) -> None:
        """Stop the server and remove its temporary folder."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _end(self, how: signal.Signals) -> None:
        if self._process is None:
            return
        self._process.send_signal(how)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _wait_for_ping(self, timeout: float) -> None:
        assert self._process is not None
        client = redis.Redis(
            port=self.port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._process.poll() is not None:
                    self._process = None
                    log = self.directory / "redis.log"
                    tail = log.read_text()[-2000:] if log.exists() else ""
                    raise RuntimeError(f"redis-server exited at start:\n{tail}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    self._end(signal.SIGKILL)
                    raise TimeoutError(f"redis-server did not answer PING in {timeout} s")
                time.sleep(0.02)
        finally:
            client.close()


def _free_port() -> int:
    """A loopback port nobody listens on now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
