"""Private matching through the Session API: opt-in only, rate-limited, pseudonymous answers,
and opting out or deleting takes a user out of everyone's answers at once."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import rate_more

import plgl
from plgl.errors import InvalidInputError, NotOptedInError, RateLimitedError
from plgl.population import Population
from plgl.population.limits import MatchLimiter, SharedMatchLimiter
from plgl.population.matching import handle

D = 6


@pytest.fixture
def engine() -> plgl.Engine:
    """30 users of two tastes (axis 0, axis 1), even ones opted in; refreshed."""
    eng = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=D),
        seed=0,
        population=Population(epsilon=None, min_users=10, secret=b"k" * 32),
    )
    for user in range(30):
        s = eng.session(f"u{user:02d}")
        s.set_matching(user % 2 == 0)
        rate_more(s, np.eye(D)[user % 3 % 2], 20)
    assert eng.population is not None
    eng.population.refresh()
    return eng


def test_matching_is_off_by_default_and_stored(engine: plgl.Engine) -> None:
    s = engine.session("newcomer")
    assert s.matching is False
    with pytest.raises(NotOptedInError, match="opt in"):
        s.matches(3)
    s.set_matching(True)
    assert engine.storage.settings("newcomer")["matching"] is True
    assert s.export()["settings"]["matching"] is True
    with pytest.raises(InvalidInputError):
        s.set_matching("yes")  # type: ignore[arg-type]
    for k in (0, 101, 2.5, "3"):
        with pytest.raises(InvalidInputError):
            s.matches(k)  # type: ignore[arg-type]


def test_matches_are_pseudonymous_and_from_the_same_taste(engine: plgl.Engine) -> None:
    asker = engine.session("u00")  # taste axis 0, like users with user % 3 % 2 == 0
    found = asker.matches(5)
    assert len(found) == 5
    handles = {handle(b"k" * 32, f"u{u:02d}"): u for u in range(30)}
    assert all(m.handle in handles and handles[m.handle] != 0 for m in found)
    assert all(handles[m.handle] % 2 == 0 for m in found)  # only opted-in users
    same = [handles[m.handle] % 3 % 2 == 0 for m in found]
    assert sum(same) >= 4
    assert {m.similarity for m in found} <= {"very similar", "similar", "somewhat similar"}
    assert all("u" not in m.handle for m in found)  # no user id in the answer


def test_opting_out_and_deleting_take_effect_at_once(engine: plgl.Engine) -> None:
    asker = engine.session("u00")
    first = [m.handle for m in asker.matches(3)]
    by_handle = {handle(b"k" * 32, f"u{u:02d}"): f"u{u:02d}" for u in range(30)}
    out, gone = by_handle[first[0]], by_handle[first[1]]
    engine.session(out).set_matching(False)
    engine.session(gone).delete()
    engine.population.limiter = MatchLimiter(limit=100)  # type: ignore[union-attr]
    again = [m.handle for m in asker.matches(10)]
    assert first[0] not in again and first[1] not in again


def test_another_process_opting_out_is_honoured_at_once(engine: plgl.Engine) -> None:
    # A second engine over the same storage (another worker) serves the opt-out.
    other = plgl.Engine(
        generator=engine.generator,
        storage=engine.storage,
        seed=0,
        population=Population(epsilon=None, min_users=10),
    )
    assert other.population is not None and other.population.refresh_id is not None
    asker = engine.session("u00")
    top = asker.matches(1)[0].handle
    target = next(f"u{u:02d}" for u in range(30) if handle(b"k" * 32, f"u{u:02d}") == top)
    other.session(target).set_matching(False)
    assert top not in [m.handle for m in asker.matches(10)]


def test_matches_are_rate_limited_per_user(engine: plgl.Engine) -> None:
    times = iter([0.0, 1.0, 2.0, 3.0, 61.5]).__next__
    assert engine.population is not None
    engine.population.limiter = MatchLimiter(limit=2, window=60.0, clock=times)
    asker, other = engine.session("u00"), engine.session("u02")
    asker.matches(2)
    asker.matches(2)
    with pytest.raises(RateLimitedError, match="at most 2") as caught:
        asker.matches(2)
    assert caught.value.retry_after == pytest.approx(58.0)
    other.matches(2)  # another user's allowance is their own
    asker.matches(2)  # the window moved on


def test_matching_needs_a_population() -> None:
    eng = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=D), seed=0)
    s = eng.session("alice")
    s.set_matching(True)  # stored either way
    with pytest.raises(InvalidInputError, match="population"):
        s.matches(3)


def test_before_any_refresh_there_are_no_matches() -> None:
    eng = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=D),
        seed=0,
        population=Population(epsilon=None),
    )
    s = eng.session("alice")
    s.set_matching(True)
    assert s.matches(3) == []


def test_opting_out_rewrites_no_state_and_opting_in_again_waits_for_a_refresh(
    engine: plgl.Engine,
) -> None:
    assert engine.population is not None
    engine.population.limiter = MatchLimiter(limit=100)
    asker = engine.session("u00")
    top = asker.matches(1)[0].handle
    target = next(f"u{u:02d}" for u in range(30) if handle(b"k" * 32, f"u{u:02d}") == top)
    stored = engine.storage.shared("population/state")
    engine.session(target).set_matching(False)
    assert engine.storage.shared("population/state") == stored  # not rewritten
    assert top not in [m.handle for m in asker.matches(20)]
    engine.session(target).set_matching(True)
    assert engine.session(target).matching is True
    assert top not in [m.handle for m in asker.matches(20)]  # not from this refresh's report
    engine.population.refresh()
    assert top in [m.handle for m in asker.matches(20)]


def test_a_question_computes_no_handle(
    engine: plgl.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plgl.population.matching as matching

    assert engine.population is not None
    engine.population.limiter = MatchLimiter(limit=100)
    calls = []
    monkeypatch.setattr(matching, "handle", lambda *args: calls.append(args) or "x")
    asker = engine.session("u00")
    assert len(asker.matches(5)) == 5
    assert len(asker.matches(5)) == 5
    assert calls == []  # computed once, when the index was built


def test_a_shared_limiter_spends_from_the_servers_token_buckets(engine: plgl.Engine) -> None:
    from plgl.server.ratelimit import RateLimiter

    times = iter([0.0, 1.0, 2.0, 3.0, 40.0]).__next__
    buckets = RateLimiter(clock=times)
    assert engine.population is not None
    # Two workers' engines would share `buckets` (Redis in production): one allowance.
    engine.population.limiter = SharedMatchLimiter(buckets, limit=2, window=60.0)
    asker, other = engine.session("u00"), engine.session("u02")
    asker.matches(2)
    asker.matches(2)
    with pytest.raises(RateLimitedError, match="at most 2") as caught:
        asker.matches(2)
    assert caught.value.retry_after == pytest.approx(28.0)  # one token per 30 s
    other.matches(2)
    asker.matches(2)  # refilled
    with pytest.raises(InvalidInputError, match="limit"):
        SharedMatchLimiter(buckets, limit=0)
