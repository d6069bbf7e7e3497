"""Storage latency, backends side by side: appending an event, and resuming a user's session by
replaying every event against starting from a snapshot.

    python benchmarks/storage.py                   # 5,000 events, d = 16
    python benchmarks/storage.py --events 1000 --dim 64

What is timed (wall clock, one thread, one user, all in this process; Redis is a real
`redis-server` started on loopback, with `appendfsync always` and with `everysec`):
- append: `storage.append` of one new feedback event (the check for a duplicate id and the
  durable write), for each of the N events; median and p99 over the N calls.
- resume, replay: `engine.session(user)` in a fresh engine whose storage hides snapshots, so the
  model is rebuilt from all N events (reading them and their items, and learning each).
- resume, snapshot: `engine.session(user)` in a fresh engine with the snapshot at N (decoding it),
  and with the snapshot 49 events behind (the most a session replays with snapshots every 50).
- tell: `session.tell` of 500 ratings through the public API after the N events (the model
  update, the append, and every 50th rating the snapshot); median and p99.
The baseline is the replay column: the ratio says how much faster a resume from a snapshot is.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per-core numbers; set before numpy loads
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import plgl
from plgl.records import Event, Feedback, Item
from plgl.storage import BaseStorage, Snapshot, from_url
from plgl.testing import RedisServer

SIGNALS = ("like", "dislike", "skip", "superlike")


class HiddenSnapshots(BaseStorage):
    """A backend seen without its snapshots: every resume replays all events."""

    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    def events(self, user_id: str, start: int = 0) -> list[Event]:
        return self.inner.events(user_id, start)

    def n_events(self, user_id: str) -> int:
        return self.inner.n_events(user_id)

    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        return self.inner.item_latent(user_id, item_id)

    def item_latents(self, user_id: str, item_ids: Iterable[str]) -> dict[str, np.ndarray]:
        return self.inner.item_latents(user_id, item_ids)

    def items(self, user_id: str) -> list[Item]:
        return self.inner.items(user_id)

    def snapshot(self, user_id: str) -> Snapshot | None:
        return None

    def delete_user(self, user_id: str) -> None:
        self.inner.delete_user(user_id)

    def is_deleted(self, user_id: str) -> bool:
        return self.inner.is_deleted(user_id)

    def _append_new(self, user_id: str, event: Event) -> Event | None:
        return None if self.inner.append(user_id, event) else event

    def _put_items(self, user_id: str, items: Sequence[Item]) -> None:
        self.inner.put_items(user_id, items)

    def _put_snapshot(self, user_id: str, position: int, blob: bytes) -> None:
        pass  # hidden: the benchmark's replay engine must never store one

    def _expire_unrated(self, user_id: str, keep: int) -> int:
        return self.inner.expire_unrated(user_id, keep)

    def _put_settings(self, user_id: str, changes: dict[str, str | None]) -> None:
        self.inner._put_settings(user_id, changes)

    def _settings(self, user_id: str) -> dict[str, str]:
        return self.inner._settings(user_id)

    def _put_shared(self, name: str, data: bytes) -> None:
        self.inner.put_shared(name, data)

    def _shared(self, name: str) -> bytes | None:
        return self.inner.shared(name)

    def _users(self, after: str | None, limit: int) -> list[str]:
        return self.inner.users(after, limit)


def timed_resumes(storage: BaseStorage, dim: int, user: str, repeats: int) -> list[float]:
    """Seconds of `engine.session(user)`, each in a new engine (built before the clock starts)."""
    generator = plgl.generators.get("identity", latent_dim=dim)
    seconds: list[float] = []
    for _ in range(repeats):
        engine = plgl.Engine(generator=generator, storage=storage)
        start = time.perf_counter()
        engine.session(user)
        seconds.append(time.perf_counter() - start)
    return seconds


def ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(seconds, q)) * 1e3


@dataclass
class Timings:
    """Seconds of each call, and the snapshot's size in bytes."""

    append: list[float]
    replay: list[float]
    snapshot: list[float]
    behind: list[float]
    size: int
    tell: list[float]


def timed_tells(session: plgl.Session, rounds: int = 50) -> list[float]:
    """Seconds of each `tell` over `rounds` asks of 10 (a snapshot is taken every 50 events)."""
    rng = np.random.default_rng(1)
    seconds: list[float] = []
    for _ in range(rounds):
        for item in session.ask(10):
            signal = SIGNALS[int(rng.integers(4))]
            start = time.perf_counter()
            session.tell(item.id, signal)
            seconds.append(time.perf_counter() - start)
    return seconds


def measure(storage: BaseStorage, n: int, dim: int, repeats: int) -> Timings:
    """Append n events for one user, then time resumes; returns the table's row."""
    rng = np.random.default_rng(0)
    user = "bench-user"
    latents = rng.standard_normal((n + 49, dim))
    for first in range(0, n + 49, 10):  # items are stored per ask, ten at a time
        batch = range(first, min(first + 10, n + 49))
        storage.put_items(user, [Item(f"item{i}", latents[i], None, "exploit") for i in batch])
    events = [Feedback(f"ev{i}", f"item{i}", SIGNALS[i % 4]) for i in range(n + 49)]
    append = []
    for event in events[:n]:
        start = time.perf_counter()
        storage.append(user, event)
        append.append(time.perf_counter() - start)

    replay = timed_resumes(HiddenSnapshots(storage), dim, user, max(3, repeats // 5))
    generator = plgl.generators.get("identity", latent_dim=dim)
    plgl.Engine(generator=generator, storage=storage).session(user).snapshot()  # at n
    snap = storage.snapshot(user)
    assert snap is not None and snap.position == n
    at_snapshot = timed_resumes(storage, dim, user, repeats)
    for event in events[n:]:  # 49 more: the longest tail between snapshots taken every 50
        storage.append(user, event)
    behind = timed_resumes(storage, dim, user, repeats)
    session = plgl.Engine(generator=generator, storage=storage).session(user)
    return Timings(append, replay, at_snapshot, behind, len(snap.blob), timed_tells(session))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="events per user")
    parser.add_argument("--dim", type=int, default=16, help="latent dimension")
    parser.add_argument("--repeats", type=int, default=30, help="resumes timed per backend")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="plgl-bench-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        backends = {
            "memory": "memory://",
            "sqlite (normal)": f"sqlite:///{folder / 'normal.db'}",
            "sqlite (full)": f"sqlite:///{folder / 'full.db'}?synchronous=full",
        }
        if RedisServer.available():
            for fsync in ("always", "everysec"):
                (folder / fsync).mkdir()
                server = RedisServer(directory=folder / fsync, appendfsync=fsync)
                backends[f"redis (fsync {fsync})"] = stack.enter_context(server).url

        table = Table(
            title=(
                f"Storage latency in ms: {args.events} events of one user, d={args.dim}, one "
                "thread (resume = engine.session() in a fresh engine)"
            )
        )
        for column in (
            "backend",
            "append p50",
            "append p99",
            "resume replay p50",
            "from snapshot p50",
            "p99",
            "49 behind p50",
            "p99",
            "replay / snapshot",
            "snapshot KiB",
            "tell p50",
            "tell p99",
        ):
            table.add_column(column, justify="left" if column == "backend" else "right")
        for name, url in backends.items():
            storage = from_url(url)
            t = measure(storage, args.events, args.dim, args.repeats)
            storage.close()
            table.add_row(
                name,
                f"{ms(t.append, 50):.3f}",
                f"{ms(t.append, 99):.3f}",
                f"{ms(t.replay, 50):.1f}",
                f"{ms(t.snapshot, 50):.2f}",
                f"{ms(t.snapshot, 99):.2f}",
                f"{ms(t.behind, 50):.2f}",
                f"{ms(t.behind, 99):.2f}",
                f"{ms(t.replay, 50) / ms(t.snapshot, 50):.0f}x",
                f"{t.size / 1024:.0f}",
                f"{ms(t.tell, 50):.2f}",
                f"{ms(t.tell, 99):.2f}",
            )
    Console(width=200).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
