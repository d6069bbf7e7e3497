"""`plgl pregenerate`, the Redis-backed content cache in an Engine, and the cache benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import plgl
from plgl.bench import cache_savings
from plgl.cache import ContentCache, from_url
from plgl.cli import main
from plgl.generators import IdentityGenerator
from plgl.testing import RedisServer


def test_pregenerate_command_fills_a_sqlite_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    args = ["pregenerate", "identity", "--latent-dim", "4", "--n", "1200", "--cache", url]
    assert main(args) == 0
    assert "1200 items" in capsys.readouterr().out
    pool = ContentCache(url).attach(IdentityGenerator(latent_dim=4)).pool.refresh()
    assert len(pool) == 1200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["identity", "--cache", "ftp://x"], "unsupported cache URL"),
        (["nope", "--cache", "memory://"], "unknown generator"),
        (["identity", "--n", "0", "--cache", "memory://"], "--n and --batch"),
    ],
)
def test_pregenerate_command_rejects_bad_input(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["pregenerate", *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if not RedisServer.available():
        pytest.skip("redis-server not installed")
    with RedisServer() as server:
        yield server


def test_engines_share_a_redis_cache_and_its_pool(redis_server: RedisServer) -> None:
    from_url(redis_server.url).delete_prefix("")
    gen = IdentityGenerator(latent_dim=4)
    plgl.cache.pregenerate(gen, from_url(redis_server.url), 500)
    one = plgl.Engine(gen, cache=redis_server.url, seed=0)
    two = plgl.Engine(gen, cache=redis_server.url, seed=1)
    item = one.session("a").ask(5)[0]
    assert two.cache.contents(item.latent[None])[0].tolist() == item.latent.tolist()
    assert two.cache.stats["generated"] == 0
    assert len(two.cache.pool.refresh()) == 500
    one.session("a").tell(item.id, "like")
    assert len(two.cache.kept("a")) == 1
    one.session("a").delete()
    assert len(two.cache.kept("a")) == 0 and two.cache.is_forgotten("a")


def test_cache_savings_rows() -> None:
    rows = cache_savings(latent_dim=4, seeds=[0], n_ratings=20, pool_size=300)
    methods = {row["method"] for row in rows}
    assert methods == {"no-cache", "cache", "pools", "eager-no-cache", "eager-pools"}
    assert all(row["suite"] == "cache" and row["problem"] == "identity-d4-linear" for row in rows)

    def value(method: str, metric: str) -> float:
        found = [r["value"] for r in rows if r["method"] == method and r["metric"] == metric]
        return float(found[-1])

    assert value("no-cache", "generator_calls") == 40  # 20 shown + 20 renders
    assert value("cache", "generator_calls") == 20
    assert value("pools", "generator_calls") < 20
    assert value("eager-no-cache", "generator_calls") > value("eager-pools", "generator_calls")
    assert 0 <= value("pools", "hit_rate") <= 1 and np.isfinite(value("pools", "top1"))
