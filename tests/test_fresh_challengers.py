"""Fresh challengers: on a duel card, the content judge's best of a few prior samples whose
content is new to the user (`plgl.duels.fresh`), where the domain has a `FRESH` entry."""

from typing import Any

import numpy as np
import pytest
from helpers import perceptual_melodies

import plgl
import plgl.duels
from plgl.duels import DUEL_CARD, duel, fresh


def _answered(seed: int = 4) -> Any:
    """A melodies session after two batches of cards, answered at random: a champion, a judge
    with an opinion, and items rated and compared."""
    session = plgl.Engine(perceptual_melodies(), seed=0).session("u")
    rng = np.random.default_rng(seed)
    for _ in range(2):
        for card in session.next_cards(10):
            if len(card) == 1:
                session.tell(card[0].id, "like" if rng.random() < 0.5 else "dislike")
            else:
                chosen = card[int(rng.integers(len(card)))]
                session.choose(chosen.id, [item.id for item in card if item is not chosen])
    return session


def test_a_fresh_challenger_is_the_judges_best_prior_sample_of_new_content(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = _answered()
    grounding = session._grounding
    generator = grounding.engine.generator
    monkeypatch.setitem(plgl.duels.FRESH, generator.name, 16)
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    found = fresh(grounding, champion, 2, np.random.default_rng(7))
    samples = generator.project(generator.sample(16, np.random.default_rng(7)))
    _, judged = grounding.judge.compare(rated, labels, samples, grounding.pairs())
    rows = [int(np.flatnonzero(np.all(samples == z, axis=1))[0]) for z in found]
    assert len(found) == 2 and rows[0] != rows[1]
    key = generator.content_key
    shown = {key(c) for c in generator.generate(grounding.shown(rated, champion))}
    new = [i for i, c in enumerate(generator.generate(samples)) if key(c) not in shown]
    assert set(rows) <= set(new)  # content the user was never shown
    ranked = sorted(new, key=lambda i: -judged[i])
    assert judged[rows[0]] >= judged[ranked[0]] - 1e-9  # the judge's best of the new ones
    assert judged[rows[1]] >= judged[ranked[2]] - 1e-9  # the next (a copy of the best goes)


def test_a_batch_of_duels_holds_one_fresh_challenger_per_card(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = _answered()
    grounding = session._grounding
    made: list[np.ndarray] = []

    def recorded(*args: Any) -> np.ndarray:
        found = fresh(*args)
        made.append(found)
        return found

    monkeypatch.setitem(plgl.duels.FRESH, grounding.engine.generator.name, 16)
    monkeypatch.setattr(plgl.duels, "fresh", recorded)
    cards = 2
    champion, found = duel(
        grounding,
        session.model,
        cards * (DUEL_CARD - 1),
        session.n_ratings,
        np.random.default_rng(1),
    )
    assert champion is not None and len(made) == 1 and len(made[0]) == cards
    assert all(any(np.array_equal(z, f) for f in found) for z in made[0])


def test_no_fresh_challenger_where_the_domain_has_no_entry() -> None:
    session = _answered()
    grounding = session._grounding
    assert grounding.engine.generator.name not in plgl.duels.FRESH
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    assert fresh(grounding, champion, 3, np.random.default_rng(0)).shape == (0, len(champion))
