"""Where several challengers beat the same champion (one batch's duels, answered in a
shuffled order), the champion is the best of them by the content judge, not the latest."""

import numpy as np
from helpers import FixedJudge

import plgl


def _session(d: int = 4) -> tuple[plgl.Session, np.ndarray]:
    """A session (isotropic prior: the judge alone rates the favourite) whose user liked item
    1, which won the first duel against item 2; then items 3 and 4 beat it, and it beat 5."""
    identity = plgl.generators.get("identity", latent_dim=d)
    engine = plgl.Engine(identity, for_you="grounded", seed=0)
    session = engine.session("u")
    latents = np.zeros((5, d))
    latents[:, 0] = np.arange(1.0, 6.0)
    latents[:, 1] = 1.0
    items = [plgl.records.Item(f"i{k + 1}", z, None, "explore") for k, z in enumerate(latents)]
    engine.storage.put_items("u", items)
    session.tell("i1", "like")
    for first, second in ((1, 2), (3, 1), (1, 5), (4, 1)):
        session.compare(f"i{first}", f"i{second}")
    return session, latents


def test_the_judge_crowns_the_best_of_the_challengers_that_beat_the_champion() -> None:
    session, latents = _session()
    grounding = session._grounding
    grounding.judge = FixedJudge({3.0: 1.0, 4.0: 0.2, 1.0: 2.0})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    np.testing.assert_array_equal(grounding.ladder.champion, latents[3])  # answered last
    crowned = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(crowned, latents[2])  # the dethroned one is out, however rated
    for pick in session.recommend(3):
        if pick.source == "favourite":
            np.testing.assert_array_equal(pick.latent, latents[2])


def test_the_crowned_challenger_defends_alone() -> None:
    session, latents = _session()
    grounding = session._grounding
    grounding.judge = FixedJudge({3.0: 1.0, 4.0: 0.2})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    crowned = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(crowned, latents[2])
    # The next batch's duel: the user prefers the crowned item over a new challenger.
    challenger = np.array([6.0, 1.0, 0.0, 0.0])
    shown = [
        plgl.records.Item("c0", latents[2], None, "champion"),
        plgl.records.Item("c1", challenger, None, "challenger"),
    ]
    session.engine.storage.put_items("u", shown)
    session.compare("c0", "c1")
    grounding.evidence()
    ladder = grounding.ladder
    assert len(ladder.crowd) == 1 and ladder.defences == 1
    np.testing.assert_array_equal(ladder.champion, latents[2])
    grounding.judge = FixedJudge({4.0: 5.0})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    # It stays champion whatever the judge now says of the other former crowd member.
    np.testing.assert_array_equal(grounding.champion(session.model, rated, labels, None), crowned)
