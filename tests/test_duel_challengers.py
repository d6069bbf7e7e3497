"""What a batch of duels costs: challengers made only when chosen, candidates' maps kept only
for what is shown, and the same choices as judging every candidate's content."""

from typing import Any

import numpy as np
import pytest
import torch
from helpers import count_perceptual, perceptual_melodies

import plgl
from plgl.bench.cache import CountingGenerator
from plgl.duels import DUEL_CANDIDATES, challengers, duel
from plgl.errors import InvalidInputError
from plgl.generators import IdentityGenerator
from plgl.navigation import ContentJudge, farthest_points


class Coarse(IdentityGenerator):
    """Content = the latent rounded to whole numbers: nearby latents make the same content,
    as a decoder whose content jumps does."""

    def generate(self, latents: np.ndarray) -> list[np.ndarray]:
        return [np.round(row) for row in super().generate(latents)]

    def config(self) -> dict[str, Any]:
        return super().config() | {"rounded": True}


def _grounding(generator: plgl.Generator) -> Any:
    return plgl.Engine(generator, for_you="grounded", seed=0).session("u")._grounding


def test_with_distinct_content_the_choice_is_the_diverse_best_of_all_ranked() -> None:
    counting = CountingGenerator(IdentityGenerator(latent_dim=6))
    rng = np.random.default_rng(0)
    ranked, champion = rng.standard_normal((20, 6)), rng.standard_normal(6)
    picks = challengers(_grounding(counting), ranked, champion, 3)
    np.testing.assert_array_equal(picks, farthest_points(ranked, 3))
    assert counting.calls == 1 + 3  # the champion and the three chosen: no other content made


def test_content_already_seen_is_left_out_and_the_choice_made_again() -> None:
    generator = Coarse(latent_dim=2)
    grounding = _grounding(generator)
    champion = np.array([0.1, 0.1])
    # The best-ranked makes the champion's content; the second and third make one content.
    ranked = np.array([[0.2, 0.3], [3.1, 0.0], [2.9, 0.2], [0.0, 3.0], [-3.0, 0.0]])
    picks = challengers(grounding, ranked, champion, 3)
    made = [
        generator.content_key(c) for c in generator.generate(np.vstack([champion, ranked[picks]]))
    ]
    assert len(set(made)) == len(made)  # none is the champion's nor another pick's
    assert 0 not in picks and not {1, 2} <= set(picks.tolist())
    assert len(picks) == 3
    # Too few distinct contents: fewer picks, never a repeat.
    same = np.array([[0.0, 0.2], [0.2, 0.0], [0.1, 0.3]])
    assert len(challengers(grounding, same, champion, 2)) == 0
    assert len(challengers(grounding, ranked, champion, 0)) == 0


def test_the_chosen_contents_are_cached_for_the_feed_to_show() -> None:
    counting = CountingGenerator(IdentityGenerator(latent_dim=4))
    grounding = _grounding(counting)
    rng = np.random.default_rng(1)
    ranked, champion = rng.standard_normal((12, 4)), rng.standard_normal(4)
    picks = challengers(grounding, ranked, champion, 2)
    made = counting.calls
    grounding.engine.cache.contents(np.vstack([champion, ranked[picks]]), "u")
    assert counting.calls == made  # showing the duels makes nothing again


def test_maps_given_to_compare_judge_as_the_judges_own() -> None:
    melodies = perceptual_melodies()
    rng = np.random.default_rng(2)
    latents = melodies.project(melodies.sample(26, rng))
    rated, labels, candidates = latents[:20], (np.arange(20) % 2).astype(float), latents[20:]
    judge = ContentJudge(melodies)
    maps = judge.candidate_maps(candidates)
    assert maps.shape == (6, len(melodies.perceptual(torch.zeros(1, melodies.latent_dim))[0]))
    given = judge.compare(rated, labels, candidates, maps=maps)[1]
    np.testing.assert_array_equal(given, judge.compare(rated, labels, candidates)[1])
    with pytest.raises(InvalidInputError, match="maps must be"):
        judge.compare(rated, labels, candidates, maps=maps[:2])
    with pytest.raises(ValueError, match="candidates must be"):
        judge.candidate_maps(candidates[:, :3])
    with pytest.raises(InvalidInputError, match="maps must be"):
        judge.remember(candidates, maps[:1])


def test_remembered_maps_spare_the_next_fit_and_change_no_score(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    melodies = perceptual_melodies()
    rows = count_perceptual(monkeypatch, melodies)
    latents = melodies.project(melodies.sample(23, np.random.default_rng(3)))
    labels = (np.arange(23) % 2).astype(float)
    judge = ContentJudge(melodies)
    judge.scores(latents[:20], labels[:20])
    shown = latents[20:]
    judge.remember(shown, judge.candidate_maps(shown))  # shown in a duel, rated next
    rows.clear()
    scores = judge.scores(latents, labels)
    assert rows == []  # no map made again
    np.testing.assert_allclose(scores, ContentJudge(melodies).scores(latents, labels), atol=1e-6)


def test_a_duel_batch_maps_its_candidates_once_and_makes_only_the_chosen_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    melodies = perceptual_melodies()  # a judge, and duels from the first like
    session = plgl.Engine(melodies, seed=0).session("u")
    rng = np.random.default_rng(4)
    for _ in range(2):
        for card in session.next_cards(10):
            if len(card) == 1:
                session.tell(card[0].id, "like" if rng.random() < 0.5 else "dislike")
            else:
                session.compare(card[0].id, card[1].id)
    grounding = session._grounding
    mapped: list[int] = []
    made: list[int] = []
    made_latents: list[np.ndarray] = []
    perceptual, generate = melodies.perceptual, melodies.generate

    def mapping(latents: torch.Tensor) -> torch.Tensor:
        mapped.append(len(latents))
        return perceptual(latents)

    def making(latents: np.ndarray) -> list[Any]:
        made.append(len(latents))
        made_latents.extend(latents)
        return generate(latents)

    monkeypatch.setattr(melodies, "perceptual", mapping)
    monkeypatch.setattr(melodies, "generate", making)
    grounding.judge.scores(*grounding.evidence(), grounding.pairs())  # rated maps made first
    mapped.clear()
    champion, found = duel(grounding, session.model, 4, session.n_ratings, rng)
    assert champion is not None and 0 < len(found) <= 4
    assert sum(mapped) <= DUEL_CANDIDATES  # the candidates', once
    # The champion's content and the chosen challengers', and only where a chosen latent
    # made the champion's content or another chosen one's, that of the one chosen instead.
    content_key = melodies.content_key
    kept = {content_key(c) for c in generate(np.vstack([champion, found]))}
    dropped = [z for z in made_latents[1:] if not any(np.array_equal(z, f) for f in found)]
    assert sum(made) <= 1 + 4 + len(dropped)
    made_again = generate(np.array(dropped)) if dropped else []
    assert all(content_key(c) in kept for c in made_again)
    mapped.clear()
    pairs = grounding.pairs()
    assert pairs is not None
    rated, labels = grounding.evidence()
    new = [z for z in found if not grounding.ladder.is_positive(z)]
    assert new  # challengers made near the champion, not only rivals
    won, lost = np.vstack([pairs[0], new]), np.vstack([pairs[1], [champion] * len(new)])
    grounding.judge.scores(rated, labels, (won, lost))  # the user answered the duels
    assert sum(mapped) == 0  # the challengers' maps were kept when they were shown
