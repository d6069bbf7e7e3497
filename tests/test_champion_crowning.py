"""The champion is crowned by a Bradley-Terry fit over all the user's comparisons around the
content judge's log-odds (`plgl.duels.strengths`), not by the latest duel alone."""

from typing import Any

import numpy as np
import pytest

import plgl
from plgl.duels import SPREAD, Ladder, strengths
from plgl.errors import InvalidInputError


class FixedJudge:
    """A content judge whose log-odds are a table lookup by a latent's first coordinate."""

    def __init__(self, table: dict[float, float]) -> None:
        self.table = table

    def compare(
        self, rated: np.ndarray, labels: np.ndarray, candidates: np.ndarray, pairs: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.scores(rated, labels, pairs), self.scores(candidates, labels, pairs)

    def scores(self, latents: np.ndarray, labels: np.ndarray, pairs: Any = None) -> np.ndarray:
        return np.array([self.table.get(float(z[0]), 0.0) for z in latents])


def test_strengths_rank_by_wins_and_leave_uncompared_items_at_their_offsets() -> None:
    offsets = np.array([0.0, 0.0, 0.0, 0.7])
    # Item 0 beat 1 three times, item 2 beat it once; item 3 took part in nothing.
    won, lost = np.array([0, 0, 0, 2]), np.array([1, 1, 1, 1])
    found = strengths(offsets, won, lost)
    assert found[0] > found[2] > 0.0 > found[1]
    assert found[3] == pytest.approx(0.7)
    # Without comparisons the offsets are the strengths.
    np.testing.assert_array_equal(strengths(offsets, np.array([], int), np.array([], int)), offsets)


def test_the_prior_spread_weighs_one_answer_against_the_offsets() -> None:
    # The judge puts item 1 a log-odds ahead; one comparison says 0 is better.
    offsets, won, lost = np.array([0.0, 1.0]), np.array([0]), np.array([1])
    narrow = strengths(offsets, won, lost, spread=0.3)
    wide = strengths(offsets, won, lost, spread=5.0)
    assert narrow[1] > narrow[0]  # a tight prior: the judge's lead holds
    assert wide[0] > wide[1]  # a loose one: the answer decides
    default = strengths(offsets, won, lost, spread=SPREAD)
    assert default[1] - default[0] < 1.0  # the answer moved them closer either way


@pytest.mark.parametrize(
    ("offsets", "won", "lost", "spread"),
    [
        (np.array([0.0, np.nan]), np.array([0]), np.array([1]), 1.0),
        (np.zeros(2), np.array([0]), np.array([2]), 1.0),
        (np.zeros(2), np.array([-1]), np.array([0]), 1.0),
        (np.zeros(2), np.array([0, 1]), np.array([1]), 1.0),
        (np.zeros(2), np.array([0.5]), np.array([1.0]), 1.0),
        (np.zeros(2), np.array([0]), np.array([1]), 0.0),
    ],
)
def test_bad_strength_input_is_refused(
    offsets: np.ndarray, won: np.ndarray, lost: np.ndarray, spread: float
) -> None:
    with pytest.raises(InvalidInputError):
        strengths(offsets, won, lost, spread)


def test_the_ladder_lists_every_compared_item_once_positives_first() -> None:
    ladder = Ladder()
    a, b, c = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([2.0, 2.0])
    ladder.liked(a)
    ladder.chose(b, a)
    ladder.chose(b, c)
    items, won, lost = ladder.comparisons()
    np.testing.assert_array_equal(items, [a, b, c])  # a, b positive; c only lost
    assert won.tolist() == [1, 1] and lost.tolist() == [0, 2]
    assert Ladder().comparisons()[0].shape[0] == 0


def _session(d: int = 4) -> tuple[plgl.Session, np.ndarray]:
    """A session (isotropic prior: the judge alone rates the favourite) whose user liked
    items 1..4 along the first axis, then answered duels: 1 beat 5 (the first duel: 1 is
    crowned), 1 beat 6, 1 beat 7, 1 beat 2, and last 3 beat 1 (one answer)."""
    identity = plgl.generators.get("identity", latent_dim=d)
    engine = plgl.Engine(identity, for_you="grounded", seed=0)
    session = engine.session("u")
    latents = np.zeros((7, d))
    latents[:, 0] = np.arange(1.0, 8.0)
    latents[:, 1] = 1.0
    items = [plgl.records.Item(f"i{k + 1}", z, None, "explore") for k, z in enumerate(latents)]
    engine.storage.put_items("u", items)
    for k in range(4):
        session.tell(f"i{k + 1}", "like")
    for first, second in ((1, 5), (1, 6), (1, 7), (1, 2), (3, 1)):
        session.compare(f"i{first}", f"i{second}")
    return session, latents


def test_one_lost_duel_does_not_dethrone_the_item_that_won_the_others() -> None:
    session, latents = _session()
    grounding = session._grounding
    grounding.judge = FixedJudge({1.0: 0.1, 3.0: 0.1})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    np.testing.assert_array_equal(grounding.ladder.champion, latents[2])  # the latest winner
    crowned = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(crowned, latents[0])  # four wins and a loss
    pick = session.recommend(2)
    favourite = [item for item in pick if item.source == "favourite"]
    assert all(np.array_equal(item.latent, latents[0]) for item in favourite)


def test_a_judge_confident_of_the_latest_winner_crowns_it() -> None:
    session, latents = _session()
    grounding = session._grounding
    grounding.judge = FixedJudge({1.0: 0.1, 3.0: 3.0})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    crowned = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(crowned, latents[2])


def test_an_item_that_only_lost_is_never_crowned() -> None:
    session, latents = _session()
    grounding = session._grounding
    # The judge rates item 5 (which lost its only comparison, never liked) far above all.
    grounding.judge = FixedJudge({5.0: 9.0, 1.0: 0.1})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    crowned = grounding.champion(session.model, rated, labels, None)
    assert crowned is not None and grounding.ladder.is_positive(crowned)
    assert not np.array_equal(crowned, latents[4])
