"""What the content judge reads of a melody (`MelodyGenerator.judge_features`), and the
"qualities" melody swiper."""

import numpy as np
import pytest
import torch

import plgl
from plgl.bench.melody_swipers import key_fit
from plgl.bench.swipers import swiper
from plgl.errors import InvalidInputError
from plgl.generators.melodies import FEATURE_NAMES, Melody, MelodyGenerator, melody_features
from plgl.generators.melody_judge import (
    BLOCK_SIZES,
    BLOCKS,
    JUDGE_LENGTH,
    JUDGE_SCALE,
    judge_row,
)
from plgl.generators.melody_model import STEPS
from plgl.navigation import ContentJudge

# C major up and down in eighths and quarters: C4 D4 E4 F4 G4 - F4 E4 | D4 - C4 - - - . .
SCALE = [14, 16, 18, 19, 21, 1, 19, 18, 16, 1, 14, 1, 1, 1, 0, 0]


@pytest.fixture(scope="module")
def melodies() -> MelodyGenerator:
    generator = plgl.generators.get("melodies")
    assert isinstance(generator, MelodyGenerator)
    return generator


def _blocks(row: np.ndarray) -> dict[str, np.ndarray]:
    ends = np.cumsum([BLOCK_SIZES[name] for name in BLOCKS])
    return dict(zip(BLOCKS, np.split(row, ends[:-1]), strict=True))


def test_a_row_describes_the_melody_block_by_block() -> None:
    melody = Melody.from_tokens(SCALE)
    blocks = _blocks(judge_row(melody.notes, scale=1.0))
    assert sum(len(b) for b in blocks.values()) == JUDGE_LENGTH
    pitches = np.repeat([60, 62, 64, 65, 67, 65, 64, 62, 60], [1, 1, 1, 1, 2, 1, 1, 2, 4])
    mean = pitches.mean()  # weighted by duration: a held note counts for each step it sounds
    np.testing.assert_allclose(blocks["contour"][:14], (pitches - mean) / 12)
    np.testing.assert_array_equal(blocks["contour"][14:], 0.0)  # a rest has no direction
    assert blocks["register"][0] == pytest.approx((mean - 66) / 12)
    onsets = np.flatnonzero(blocks["rhythm"])
    np.testing.assert_array_equal(onsets, [0, 1, 2, 3, 4, 6, 7, 8, 10])
    classes = blocks["pitch_classes"] ** 2  # shares of the sounding time
    np.testing.assert_allclose(classes[[0, 2, 4, 5, 7]], np.array([5, 3, 2, 2, 2]) / 14)
    # Eight moves, all steps: four up, then four down.
    np.testing.assert_allclose(blocks["intervals"] ** 2, [0, 4 / 8, 0, 0, 0, 4 / 8, 0, 0, 0])
    # Steps in eighths (six notes), quarters (two), longer notes (one of four), and rests.
    np.testing.assert_allclose(blocks["durations"] ** 2, np.array([6, 4, 0, 4, 2]) / 16)


def test_every_block_has_a_norm_of_about_the_scale() -> None:
    melody = Melody.from_tokens(SCALE)
    blocks = _blocks(judge_row(melody.notes))
    for name in ("rhythm", "pitch_classes", "intervals", "durations"):
        assert np.linalg.norm(blocks[name]) <= JUDGE_SCALE + 1e-9
    assert np.linalg.norm(blocks["pitch_classes"]) == pytest.approx(JUDGE_SCALE)


def test_a_silent_melody_is_a_finite_row_at_the_middle() -> None:
    row = judge_row(Melody.from_tokens([0] * STEPS).notes)
    assert row.shape == (JUDGE_LENGTH,)
    assert np.isfinite(row).all()
    assert row[-1] == pytest.approx(JUDGE_SCALE)  # all of it rest
    assert not row[:-1].any()  # no contour, mid register, no notes, no moves


def test_transposing_moves_register_and_pitch_classes_only() -> None:
    melody = Melody.from_tokens(SCALE)
    up = Melody.from_tokens([t + 2 if t >= 2 else t for t in SCALE])  # a whole tone up
    same, moved = _blocks(judge_row(melody.notes)), _blocks(judge_row(up.notes))
    for name in ("contour", "rhythm", "intervals", "durations"):
        np.testing.assert_allclose(same[name], moved[name])
    assert moved["register"][0] - same["register"][0] == pytest.approx(JUDGE_SCALE * 2 / 12)
    np.testing.assert_allclose(np.roll(same["pitch_classes"], 2), moved["pitch_classes"])


def test_melody_judge_features_are_the_rows_of_the_decoded_melodies(
    melodies: MelodyGenerator,
) -> None:
    latents = melodies.sample(5, np.random.default_rng(4))
    features = melodies.judge_features(latents)
    assert features.shape == (5, JUDGE_LENGTH)
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features, melodies.judge_features(latents))  # deterministic
    decoded = melodies.generate(latents)
    np.testing.assert_allclose(features[2], judge_row(decoded[2].notes))
    # Not the perceptual map: the judge reads the melody, not the decoder's soft tokens.
    assert features.shape[1] != melodies.perceptual(torch.zeros(1, 16)).shape[1]


def test_key_fit_prefers_the_key_of_the_melody() -> None:
    melody = Melody.from_tokens(SCALE)  # C major
    fits = [key_fit(melody, tonic, True) for tonic in range(12)]
    assert int(np.argmax(fits)) in (0, 5)  # C major (or F major, which shares these notes)
    assert key_fit(melody, 0, True) > key_fit(melody, 0, False)  # more C major than C minor
    assert key_fit(Melody.from_tokens([14] + [1] * 15), 3, True) == 0.0  # one pitch class


def test_the_qualities_swiper_likes_melodies_near_its_profile(melodies: MelodyGenerator) -> None:
    user = swiper("melodies", "qualities", melodies, seed=0, n_prior=200)
    latents = melodies.sample(300, np.random.default_rng(30_000))
    values = user.utility(latents)
    assert np.all((values >= -1) & (values <= 2))
    decoded = melodies.generate(latents)
    traits = np.array([melody_features(m) for m in decoded])
    stepwise = traits[:, FEATURE_NAMES.index("stepwise")]
    # A drawn profile of several qualities: no single trait decides the taste.
    assert abs(np.corrcoef(values, stepwise)[0, 1]) < 0.9
    assert np.std(values) > 0.1


def test_the_judge_reads_the_musicians_features(melodies: MelodyGenerator) -> None:
    latents = melodies.project(melodies.sample(86, np.random.default_rng(6)))
    rated, candidates = latents[:80], latents[80:]
    traits = melodies.features(melodies.generate(rated))
    stepwise = traits[:, FEATURE_NAMES.index("stepwise")]
    labels = (stepwise > np.median(stepwise)).astype(float)  # likes stepwise melodies
    judge = ContentJudge(melodies)
    scores = judge.scores(rated, labels)
    assert np.corrcoef(scores, stepwise)[0, 1] > 0.6  # the interval shares spell it out
    maps = judge.candidate_maps(candidates)
    assert maps.shape == (6, JUDGE_LENGTH)
    given = judge.compare(rated, labels, candidates, maps=maps)[1]
    np.testing.assert_array_equal(given, judge.compare(rated, labels, candidates)[1])


@pytest.mark.parametrize("notes", [[(60, 0, 0)], [(60, -1, 2)], [(60, 15, 2)]])
def test_notes_outside_the_two_bars_are_refused(notes: list[tuple[int, int, int]]) -> None:
    with pytest.raises(InvalidInputError, match="notes must be"):
        judge_row(notes)
    with pytest.raises(ValueError):  # the matching builtin too
        judge_row(notes)
