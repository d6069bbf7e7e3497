"""For-you's variation on the champion: new content, the judge's best near the champion."""

from functools import partial
from typing import Any

import numpy as np
import pytest
from helpers import choose_best

import plgl
from plgl.generators import Generator
from plgl.making import _WIDENINGS, VARIATION
from plgl.navigation import trust_radius


class LinearJudge:
    """A hand-built content judge: log-odds `latent @ direction` (a taste it knows exactly)."""

    def __init__(self, direction: np.ndarray) -> None:
        self.direction = direction

    def compare(
        self, rated: np.ndarray, labels: np.ndarray, candidates: np.ndarray, pairs: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(rated) @ self.direction, np.asarray(candidates) @ self.direction


def _rate(session: plgl.Session, direction: np.ndarray, batches: int) -> None:
    for _ in range(batches):
        for card in session.next_cards(10):
            if len(card) == 1:
                like = float(card[0].latent @ direction) > 0.0
                session.tell(card[0].id, "like" if like else "dislike")
            else:
                choose_best(session, card, direction)


@pytest.mark.parametrize("mode", ["grounded", "judged"])
def test_a_variation_is_predicted_at_least_as_good_as_the_champion_by_the_judge(mode: str) -> None:
    d = 8
    direction = np.linspace(1.0, -1.0, d)
    engine = plgl.Engine(plgl.generators.get("identity", latent_dim=d), for_you="grounded")
    session = engine.session("u")
    _rate(session, direction, 3)
    grounding = session._grounding
    grounding.judge = LinearJudge(direction)  # type: ignore[assignment]
    grounding.mode = mode  # "judged" also steps in random directions
    rated, labels = grounding.evidence()
    for seed in range(5):
        champion = np.asarray(session.engine.generator.project(np.eye(d)[seed][None] * 3.0))[0]
        variation = grounding._variation(
            session.model, rated, labels, champion, np.random.default_rng(seed)
        )
        assert variation is not None and variation.shape == (1, d)
        assert float(variation[0] @ direction) >= float(champion @ direction)
        reach = VARIATION * trust_radius(d, 0.0) * 2 ** (_WIDENINGS - 1)
        assert 0 < np.linalg.norm(variation[0] - champion) <= reach * 1.01


def test_a_molecule_variation_is_content_never_shown_to_the_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    molecules = plgl.generators.get("molecules")
    # The judge on the decoder's soft tokens, which is unsure enough after 3 batches to rank
    # new molecules among its best 8 (the atom-pair judge ranks the champion's own first).
    monkeypatch.setattr(molecules, "judge_features", partial(Generator.judge_features, molecules))
    # A scenario in which For-you makes a variation: none at seed 1 since every liked item
    # duels, none at seed 2 since one challenger a card is a fresh molecule (`FRESH`).
    engine = plgl.Engine(molecules, seed=3)
    assert engine.for_you == "judged"
    session = engine.session("u")
    rng = np.random.default_rng(3)
    direction = rng.standard_normal(molecules.latent_dim)
    _rate(session, direction, 3)
    grounding = session._grounding
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    variation = grounding._variation(session.model, rated, labels, champion, rng)
    assert variation is not None
    shown = grounding.shown(rated, champion)
    assert len(shown) > len(rated)  # the compared items count as shown too
    made = molecules.generate(np.vstack([variation, shown]))
    assert made[0].smiles not in {molecule.smiles for molecule in made[1:]}
    pick = session.recommend(1)[0]
    assert pick.source == "recommend"
    assert pick.content.smiles not in {molecule.smiles for molecule in made[1:]}


def test_content_already_shown_is_decoded_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    d = 4
    generator = plgl.generators.get("identity", latent_dim=d)
    grounding = plgl.Engine(generator, for_you="grounded").session("u")._grounding
    decoded: list[int] = []
    generate = generator.generate

    def counting(latents: np.ndarray) -> list[Any]:
        decoded.append(len(latents))
        return generate(latents)

    monkeypatch.setattr(generator, "generate", counting)
    known = np.eye(d)
    candidates = np.vstack([np.eye(d)[:2], 2 * np.eye(d)[:1], 2 * np.eye(d)[:1]])
    np.testing.assert_array_equal(grounding.distinct(candidates, known), [2])
    np.testing.assert_array_equal(grounding.distinct(candidates, known), [2])
    assert decoded == [d, 4, 4]  # the known latents once, the candidates each call
