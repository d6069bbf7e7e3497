"""The Ray Serve generator: conformance, the end-to-end loop, batching across users, and a
replica killed mid-load (slow tier: one local Ray cluster, started once, ~15 s)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

import plgl
from plgl.generators import Generator
from plgl.generators.remote import RemoteGenerator, deploy, rows_in
from plgl.testing import GeneratorConformance

OPTIONS = {"latent_dim": 8}
MAX_BATCH = 16


@pytest.fixture(scope="module")
def remote() -> Iterator[RemoteGenerator]:
    ray = pytest.importorskip("ray", reason="the Ray Serve generator needs plgl[ray]")
    from ray import serve

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 << 20)
    try:
        deploy("identity", OPTIONS, replicas=1, num_cpus=0.5, max_batch_size=MAX_BATCH)
        yield RemoteGenerator("identity", OPTIONS, max_batch_size=MAX_BATCH, timeout_s=30)
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
class TestRemoteIdentity(GeneratorConformance):
    @pytest.fixture
    def generator(self, remote: RemoteGenerator) -> Generator:
        return remote


def test_batch_size_counts_latents_and_never_raises() -> None:
    assert rows_in([np.zeros((3, 8)), np.zeros((5, 8))]) == 8
    assert rows_in([np.zeros(8), "nonsense", None]) == 3  # fail in generate, not in the loop
    assert rows_in(None) == 1  # type: ignore[arg-type]  # malformed: counted, never raised on


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ImportError, match=r"plgl\[ray\]"):
        deploy("identity", OPTIONS)


def learn_a_linear_taste(generator: Generator) -> tuple[float, float]:
    """A simulated user with a linear taste rates 40 items; (true score of the top
    recommendation, mean true score of random prior latents)."""
    rng = np.random.default_rng(0)
    taste = rng.standard_normal(generator.latent_dim)
    session = plgl.Engine(generator=generator, seed=0).session("taster")
    for _ in range(4):
        for item in session.ask(10):
            session.tell(item.id, "like" if item.latent @ taste > 0 else "dislike")
    best = session.recommend(1)[0].latent
    baseline = generator.project(generator.sample(200, rng)) @ taste
    return float(best @ taste), float(np.mean(baseline))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("where", ["local", "remote"])
def test_the_session_loop_learns_the_same_with_either_generator(
    where: str, remote: RemoteGenerator
) -> None:
    generator = plgl.generators.get("identity", **OPTIONS) if where == "local" else remote
    best, baseline = learn_a_linear_taste(generator)
    assert best > baseline + 3.0  # on the shell |z| = sqrt(8): a random latent scores ~0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_concurrent_calls_are_merged_into_batches_of_latents(remote: RemoteGenerator) -> None:
    before = len(remote.stats()["batches"])
    latents = remote.sample(24, np.random.default_rng(1))
    results: dict[int, list[object]] = {}

    def call(i: int) -> None:
        results[i] = remote.generate(latents[3 * i : 3 * i + 3])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(8):  # each caller gets its own rows back, in order
        np.testing.assert_allclose(np.array(results[i]), latents[3 * i : 3 * i + 3])
    batches = remote.stats()["batches"][before:]
    assert sum(batches) == 24 and max(batches) <= MAX_BATCH
    assert len(batches) < 8, f"8 concurrent calls ran as {len(batches)} model calls: {batches}"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_call_larger_than_a_batch_is_split(remote: RemoteGenerator) -> None:
    latents = remote.sample(3 * MAX_BATCH + 1, np.random.default_rng(2))
    np.testing.assert_allclose(np.array(remote.generate(latents)), latents)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_killed_replica_loses_no_request(remote: RemoteGenerator) -> None:
    """SIGKILL the replica while 4 users ask and rate: every call succeeds (retried where the
    replica died under it; content is a function of the latent) and every rating is stored
    exactly once."""
    engine = plgl.Engine(generator=remote, seed=0)
    told: dict[str, list[tuple[float, str]]] = {f"user{i}": [] for i in range(4)}
    errors: list[BaseException] = []
    stop = threading.Event()

    def user(name: str) -> None:
        try:
            session = engine.session(name)
            while not stop.is_set():
                for item in session.ask(4):
                    event = session.tell(item.id, "like", event_id=f"{name}-{item.id}")
                    told[name].append((time.monotonic(), event.event_id))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=user, args=(name,)) for name in told]
    for thread in threads:
        thread.start()
    while min(len(events) for events in told.values()) < 8 and not errors:
        time.sleep(0.05)
    killed = remote.stats()["pid"]  # the only replica
    os.kill(killed, signal.SIGKILL)
    killed_at = time.monotonic()
    time.sleep(3.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert remote.stats()["pid"] != killed  # Serve replaced the replica
    for name, events in told.items():
        assert any(when > killed_at for when, _ in events), f"{name} was not served after"
        stored = [event.event_id for event in engine.storage.events(name)]
        assert len(set(stored)) == len(stored)
        assert sorted(stored) == sorted(event_id for _, event_id in events)
