"""The Ray Serve generator: conformance, the end-to-end loop, batching across users, and a
replica killed mid-load (slow tier: one local Ray cluster, started once, ~15 s)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

import plgl
from plgl.generators import Generator
from plgl.testing import GeneratorConformance

ray = pytest.importorskip("ray", reason="the Ray Serve generator needs plgl[ray]")

from plgl.generators.remote import RemoteGenerator, deploy, rows_in  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

OPTIONS = {"latent_dim": 8}
MAX_BATCH = 16


@pytest.fixture(scope="module")
def remote() -> Iterator[RemoteGenerator]:
    from ray import serve

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 << 20)
    try:
        deploy("identity", OPTIONS, replicas=1, num_cpus=0.5, max_batch_size=MAX_BATCH)
        yield RemoteGenerator("identity", OPTIONS, max_batch_size=MAX_BATCH, timeout_s=30)
    finally:
        serve.shutdown()
        ray.shutdown()


class TestRemoteIdentity(GeneratorConformance):
    @pytest.fixture
    def generator(self, remote: RemoteGenerator) -> Generator:
        return remote


def test_batch_size_counts_latents_and_never_raises() -> None:
    assert rows_in([np.zeros((3, 8)), np.zeros((5, 8))]) == 8
    assert rows_in([np.zeros(8), "nonsense", None]) == 3  # fail in generate, not in the loop


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


@pytest.mark.parametrize("where", ["local", "remote"])
def test_the_session_loop_learns_the_same_with_either_generator(
    where: str, remote: RemoteGenerator
) -> None:
    generator = plgl.generators.get("identity", **OPTIONS) if where == "local" else remote
    best, baseline = learn_a_linear_taste(generator)
    assert best > baseline + 3.0  # on the shell |z| = sqrt(8): a random latent scores ~0


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


def test_a_call_larger_than_a_batch_is_split(remote: RemoteGenerator) -> None:
    latents = remote.sample(3 * MAX_BATCH + 1, np.random.default_rng(2))
    np.testing.assert_allclose(np.array(remote.generate(latents)), latents)


def test_a_killed_replica_loses_no_request(
    remote: RemoteGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGKILL the replica while 4 users ask and rate: every call succeeds on a retry (content
    is a function of the latent) and every rating is stored exactly once."""
    engine = plgl.Engine(generator=remote, seed=0)
    told: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def user(name: str) -> None:
        try:
            session = engine.session(name)
            told[name] = []
            for round_ in range(6):
                for item in session.ask(4):
                    event = session.tell(item.id, "like", event_id=f"{name}-{item.id}")
                    told[name].append(event.event_id)
                time.sleep(0.2 * (round_ % 2))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=user, args=(f"user{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    os.kill(remote.stats()["pid"], signal.SIGKILL)  # the only replica
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert any("retrying" in record.message for record in caplog.records)  # calls did fail
    for name, event_ids in told.items():
        stored = [event.event_id for event in engine.storage.events(name)]
        assert sorted(stored) == sorted(event_ids) and len(set(stored)) == len(stored) == 24
    # The replica came back: a fresh call succeeds.
    assert len(remote.generate(remote.sample(2, np.random.default_rng(3)))) == 2
