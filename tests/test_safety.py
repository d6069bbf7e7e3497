"""No item served by ask, recommend or reverse may fall in the marked region."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plgl


def in_marked_region(latents: np.ndarray, negatives: np.ndarray, radius: float) -> np.ndarray:
    """Independent of plgl's filter: exact distances to every negative."""
    distances = np.linalg.norm(latents[:, None, :] - negatives[None, :, :], axis=2)
    return np.asarray(distances.min(axis=1) <= radius)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    d = draw(st.integers(2, 10))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    taste = np.eye(d)[draw(st.integers(0, d - 1))] * draw(st.sampled_from([1.0, -1.0]))
    shell = np.sqrt(d)
    # Adversarial negatives: right where the user's best items are, plus random ones.
    near_best = taste * shell + draw(st.floats(0.0, 0.5)) * rng.standard_normal((3, d))
    negatives = np.vstack([near_best, rng.standard_normal((draw(st.integers(0, 20)), d))])
    return {
        "d": d,
        "seed": seed,
        "taste": taste,
        "negatives": negatives,
        "radius": draw(st.floats(0.05, 0.6)) * shell,
        "cutoff": draw(st.one_of(st.none(), st.floats(-1.0, 1.0))),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_nothing_served_lies_in_the_marked_region(scenario: dict[str, object]) -> None:
    d, taste = scenario["d"], scenario["taste"]
    negatives, radius, cutoff = scenario["negatives"], scenario["radius"], scenario["cutoff"]
    assert isinstance(d, int) and isinstance(taste, np.ndarray)
    assert isinstance(negatives, np.ndarray) and isinstance(radius, float)

    def flagged(content: np.ndarray) -> bool:  # a content predicate: "too much of trait 1"
        return cutoff is not None and float(content[1] / np.sqrt(d)) > float(cutoff)  # type: ignore[arg-type]

    safety = plgl.Safety(negatives=negatives, predicate=flagged, radius=radius)
    engine = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=d),
        seed=int(scenario["seed"]),
        safety=safety,  # type: ignore[call-overload]
    )
    session = engine.session("u")
    served: list[np.ndarray] = []
    try:
        for _ in range(4):
            items = session.ask(10)
            served += [item.latent for item in items]
            for item in items:
                session.tell(item.id, "like" if item.latent @ taste > 0 else "dislike")
        served += [item.latent for item in session.recommend(5)]
        for target in (0.1, 0.5, 0.9, 0.99):
            served += list(session.reverse(target, 4))
    except plgl.UnsafeRegionError:
        pass  # refusing to serve is safe; serving from the region is not
    if d >= 4 and (cutoff is None or cutoff > 0):
        assert len(served) >= 10  # the region leaves room: the test must not pass vacuously
    latents = np.array(served).reshape(-1, d)
    assert not in_marked_region(latents, negatives, radius).any()
    assert not any(flagged(latent) for latent in latents)


def test_negatives_teach_every_user_to_steer_away() -> None:
    d = 6
    negatives = np.sqrt(d) * np.eye(d)[:1]
    engine = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=d),
        safety=plgl.Safety(negatives=np.repeat(negatives, 20, axis=0)),
    )
    fresh = engine.session("new-user")
    assert fresh.score(negatives)[0] < 0.2
    assert fresh.score(-negatives)[0] > 0.5


def test_a_fully_marked_space_is_refused_not_served() -> None:
    engine = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=3),
        safety=plgl.Safety(predicate=lambda content: True),
    )
    session = engine.session("u")
    with pytest.raises(plgl.UnsafeRegionError, match="marked"):
        session.ask(5)
    with pytest.raises(plgl.UnsafeRegionError, match="marked"):
        session.reverse(0.5, 2)


def test_the_latent_check_needs_no_content_and_the_full_check_adds_the_predicate() -> None:
    latents = np.array([[0.0, 0.1], [3.0, 0.0], [0.0, 3.0]])
    safety = plgl.Safety(negatives=np.zeros((1, 2)), predicate=lambda c: bool(c[1] > 1), radius=0.5)
    assert safety.unsafe_latents_mask(latents).tolist() == [True, False, False]
    assert safety.unsafe_mask(latents, list(latents)).tolist() == [True, False, True]
    with pytest.raises(plgl.InvalidInputError, match="needs the content"):
        safety.unsafe_mask(latents)
    assert not plgl.Safety().unsafe_latents_mask(latents).any()
