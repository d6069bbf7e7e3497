"""Memory per session: the content judges of an engine share one bounded cache of perceptual
maps, which changes no card or pick, and a session's judge and grounding hold little."""

import sys
from typing import Any

import numpy as np
import pytest

import plgl
from plgl.bench.suites.swipers import _answer
from plgl.bench.swipers import swiper
from plgl.navigation import ContentJudge, PerceptualMaps
from plgl.navigation.anchors import latent_key


def _held(root: Any, shared: tuple[Any, ...]) -> int:
    """Bytes reachable from `root` (numpy buffers once each), not through `shared`."""
    seen, total, todo = {id(x) for x in shared}, 0, [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj if obj.base is None else obj.base
            total += sys.getsizeof(obj) + (base.nbytes if id(base) not in seen else 0)
            seen.add(id(base))
            continue
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            todo += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            todo += list(obj)
        if hasattr(obj, "__dict__"):
            todo.append(vars(obj))
    return total


def _served(engine: plgl.Engine, answers: int, seed: int = 0) -> tuple[list[bytes], Any]:
    """Everything a face swiper's session served (each card's latents, each For-you pick and
    its source) over `answers` answers of the feed's cards, and the session."""
    session = engine.session(f"swiper-{seed}")
    user = swiper("faces", "random-features", engine.generator, seed, n_prior=50)
    rng = np.random.default_rng(seed)
    served: list[bytes] = []
    while session.n_ratings < answers:
        for card in session.next_cards(10):
            served += [item.latent.tobytes() for item in card]
            _answer(session, user, card, rng)
        served += [p.latent.tobytes() + p.source.encode() for p in session.recommend(3)]
    return served, session


def test_perceptual_maps_remember_the_latest_used_and_no_more() -> None:
    maps = PerceptualMaps(2)
    a, b, c = (np.full(3, v, dtype=np.float32) for v in (1.0, 2.0, 3.0))
    maps.keep([b"a", b"b"], {b"a": a, b"b": b})
    maps.keep([b"a"], {b"a": a})  # used again: "b" is now the oldest
    maps.keep([b"c"], {b"c": c})
    assert len(maps) == 2 and set(maps.found([b"a", b"b", b"c"])) == {b"a", b"c"}
    with pytest.raises(plgl.errors.InvalidInputError, match="size"):
        PerceptualMaps(-1)
    with pytest.raises(ValueError, match="PerceptualMaps"):
        ContentJudge(plgl.generators.get("faces"), maps={})  # type: ignore[arg-type]
    assert len(latent_key(np.zeros(100))) == 16
    assert latent_key(np.zeros(100)) == latent_key(np.zeros(100, dtype=np.float32))
    assert latent_key(np.zeros(100)) != latent_key(np.zeros(99))


def test_a_judge_scores_alike_with_a_shared_a_tiny_or_no_cache() -> None:
    faces = plgl.generators.get("faces")
    rng = np.random.default_rng(3)
    latents = faces.project(faces.sample(50, rng))
    labels = (np.arange(40) % 3 == 0).astype(float)
    pairs = (latents[40:45], latents[45:])
    shared = PerceptualMaps()
    judges = [ContentJudge(faces, maps=shared), ContentJudge(faces, maps=shared)]
    judges += [ContentJudge(faces, cache_size=0), ContentJudge(faces, maps=PerceptualMaps(7))]
    for n in (20, 30, 40):  # a growing history, as a session sees it
        found = [j.compare(latents[:n], labels[:n], latents[40:], pairs) for j in judges]
        for rated, candidates in found[1:]:
            np.testing.assert_array_equal(rated, found[0][0])
            np.testing.assert_array_equal(candidates, found[0][1])
    assert len(shared) == 50  # both judges' rated and compared items, mapped once


def test_cards_and_picks_do_not_depend_on_the_shared_cache() -> None:
    faces = plgl.generators.get("faces")
    with plgl.Engine(faces, seed=0) as roomy, plgl.Engine(faces, seed=0) as tiny:
        tiny.perceptual_maps = PerceptualMaps(8)  # almost every map made again
        assert roomy.perceptual_maps is not None
        served, _ = _served(roomy, 50)
        assert _served(tiny, 50)[0] == served
        assert len(tiny.perceptual_maps) <= 8


def test_a_sessions_judge_and_grounding_hold_little_after_many_answers() -> None:
    faces = plgl.generators.get("faces")
    with plgl.Engine(faces, seed=0) as engine:
        answers = 90  # duels start at 40 answers on faces
        _, session = _served(engine, answers)
        grounding, judge = session._grounding, session._grounding.judge
        assert judge.maps is engine.perceptual_maps  # no maps of its own
        assert grounding.ladder.champion is not None  # the duels have run
        shared = (engine, *vars(engine).values(), faces)
        # The judge: the last regression, the maps' centre (769,) and the window's log-odds.
        assert _held(judge, shared) < 48_000
        # The grounding: the rated and compared latents (800 bytes each, with their keys).
        latents = len(grounding.evidence()[0]) + 2 * len(grounding.ladder.compared)
        assert _held(grounding, (*shared, judge)) < 32_000 + 1_200 * latents
