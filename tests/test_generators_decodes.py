"""A face generator's recent decodes: a latent judged by its map and then shown (or the other
way round) goes through the network once, and nothing it returns changes."""

import numpy as np
import pytest
import torch

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.generators._decodes import RecentDecodes, decode_key
from plgl.navigation import ContentJudge


@pytest.fixture(scope="module")
def faces() -> Generator:
    return plgl.generators.get("faces")


def _fresh(recent: int = 256) -> Generator:
    return plgl.generators.get("faces", recent=recent)


def _passes(generator: Generator) -> tuple[list[int], torch.utils.hooks.RemovableHandle]:
    calls: list[int] = []
    network = generator.network  # type: ignore[attr-defined]
    hook = network.register_forward_hook(lambda module, args, out: calls.append(len(out)))
    return calls, hook


def test_maps_are_the_perceptual_maps_whatever_decoded_them_first() -> None:
    latents = np.random.default_rng(0).standard_normal((40, 100))
    plain = _fresh(0)
    expected = Generator.judge_features(plain, latents)  # the perceptual map, no memory
    assert np.array_equal(plain.judge_features(latents), expected)
    shown_first = _fresh()
    shown_first.generate(latents[::-1])
    calls, hook = _passes(shown_first)
    try:
        assert np.array_equal(shown_first.judge_features(latents), expected)
    finally:
        hook.remove()
    assert calls == []


def test_faces_are_the_same_whether_their_maps_were_read_first() -> None:
    latents = np.random.default_rng(1).standard_normal((40, 100))
    expected = _fresh(0).generate(latents)
    judged_first = _fresh()
    judged_first.judge_features(latents)
    calls, hook = _passes(judged_first)
    try:
        again = judged_first.generate(latents[5:15])
    finally:
        hook.remove()
    assert calls == []
    assert all(np.array_equal(a, b) for a, b in zip(again, expected[5:15], strict=True))


def test_a_face_given_out_is_the_callers_own() -> None:
    generator = _fresh()
    latent = np.random.default_rng(2).standard_normal((1, 100))
    first = generator.generate(latent)[0]
    kept = first.copy()
    first[:] = 0  # what a caller does to its content reaches no one else
    second = generator.generate(latent)[0]
    assert np.array_equal(second, kept)
    second[:] = 0
    assert np.array_equal(generator.generate(latent)[0], kept)


def test_only_the_latest_decodes_are_kept() -> None:
    generator = _fresh(recent=4)
    latents = np.random.default_rng(3).standard_normal((6, 100))
    generator.generate(latents)
    assert len(generator.decodes) == 4  # type: ignore[attr-defined]
    calls, hook = _passes(generator)
    try:
        generator.generate(latents[2:])  # the latest four: no pass
        generator.generate(latents[:1])  # pushed out: one pass
    finally:
        hook.remove()
    assert calls == [1]


def test_latents_the_network_sees_alike_share_a_key() -> None:
    latent = np.random.default_rng(4).standard_normal(100)
    assert decode_key(latent) == decode_key(latent.astype(np.float32).astype(np.float64))
    assert decode_key(latent) != decode_key(latent + 1e-3)


@pytest.mark.parametrize("size", [-1, 1.5, True, "8"])
def test_a_bad_size_is_refused(size: object) -> None:
    with pytest.raises(InvalidInputError, match="recent decodes"):
        RecentDecodes(size)  # type: ignore[arg-type]


def test_judge_features_refuse_bad_latents(faces: Generator) -> None:
    with pytest.raises(InvalidInputError, match="latents"):
        faces.judge_features(np.zeros((2, 99)))
    with pytest.raises(InvalidInputError, match="finite"):
        faces.judge_features(np.full((1, 100), np.nan))
    assert faces.judge_features(np.empty((0, 100))).shape == (0, 768)


def test_the_judge_keeps_the_maps_of_content_just_made_without_a_pass() -> None:
    faces = _fresh()
    judge = ContentJudge(faces)
    shown, other = np.split(np.random.default_rng(5).standard_normal((8, 100)), 2)
    faces.generate(shown)  # content made to be shown
    judge.keep_decoded(np.vstack([shown, other]))  # `other` was never decoded: not mapped
    assert len(judge.maps) == 4
    calls, hook = _passes(faces)
    try:
        maps = judge.candidate_maps(shown)
    finally:
        hook.remove()
    assert calls == []
    assert np.array_equal(maps, Generator.judge_features(_fresh(0), shown))
