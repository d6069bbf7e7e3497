"""Does the champion find the favourite? The crown against the best item rated positively.

The swipers suite's protocol (`plgl.bench.suites.swipers`: the default engine through the web
app's cards, batches of 10) on any domain's swipers; at 30, 60 and 100 answers, with the
normalized true utility, medians over the swipers of:

* For-you, the favourite (the best positively rated item by the true taste), the champion
  (`plgl.grounding.Grounding.champion`, the crown For-you and the duels start from) and
  favourite - champion;
* "met": the share of runs whose favourite has taken part in a comparison (only a duel can
  crown it), and "lost": whose favourite lost one;
* "judge rank": how many positively rated items the content judge rates above the favourite
  (0: the judge's best), and how many items were rated positively.

    OMP_NUM_THREADS=1 nice python benchmarks/crown_diagnosis.py --domain molecules --seeds 0-3
"""

from __future__ import annotations

from typing import Any

import numpy as np
from card_swipers import arguments, every_swiper, swiper, through_cards

from plgl.bench import swipers as swiper_kinds
from plgl.ladder import key

STEPS = (30, 60, 100)


def run(domain: str, kind: str, seed: int) -> dict[int, dict[str, float]]:
    """One swiper's crown at each of `STEPS` answers."""
    generator, user = swiper(domain, kind, seed)
    found: dict[int, dict[str, float]] = {}

    def after(session: Any, batch: Any) -> None:
        pick = session.recommend(1)[0]
        if session.n_ratings in STEPS:
            found[session.n_ratings] = _crown(session, user, pick.latent)

    through_cards(generator, user, seed, max(STEPS), after)
    return found


def _crown(session: Any, user: Any, pick: np.ndarray) -> dict[str, float]:
    """The session's crown against its favourite on the swiper's true taste, and For-you's
    pick (d,): one run's row of the medians printed."""
    grounding = session._grounding
    rated, labels = grounding.evidence()
    ladder = grounding.ladder
    positives = np.array(ladder.positives)
    values = user.normalized(positives)
    best = int(np.argmax(values))
    favourite = key(positives[best])
    champion = grounding.champion(session.model, rated, labels, None)
    judged = grounding.judge.compare(rated, labels, positives, grounding.pairs())[1]
    return {
        "for_you": float(user.normalized(pick[None])[0]),
        "favourite": float(values[best]),
        "champion": float(user.normalized(champion[None])[0]),
        "met": float(any(favourite in (key(a), key(b)) for a, b in ladder.compared)),
        "lost": float(any(favourite == key(loser) for _, loser in ladder.compared)),
        "judge rank": float(np.sum(judged > judged[best])),
        "positives": float(len(positives)),
    }


def main() -> None:
    args = arguments(__doc__, list(swiper_kinds.KINDS), "0-3")
    _, runs = every_swiper(run, args.domain, args.seeds, args.jobs)
    for step in STEPS:
        rows = [r[step] for r in runs]
        med = {name: float(np.median([r[name] for r in rows])) for name in rows[0]}
        gap = np.median([r["favourite"] - r["champion"] for r in rows])
        met, lost = (np.mean([r[name] for r in rows]) for name in ("met", "lost"))
        print(
            f"{step} answers, {len(rows)} runs: For-you {med['for_you']:.2f}, favourite "
            f"{med['favourite']:.2f}, champion {med['champion']:.2f}, favourite - champion "
            f"{gap:.2f}, met {met:.0%}, lost {lost:.0%}, judge rank {med['judge rank']:.1f} of "
            f"{med['positives']:.0f} positives"
        )


if __name__ == "__main__":
    main()
