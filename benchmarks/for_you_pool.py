"""What For-you could make: the judge's pick among its candidates against the best of them.

The swipers suite's protocol (`plgl.bench.suites.swipers`: the default engine through the web
app's cards, batches of 10) on a "judged" domain's swipers (melodies, molecules). At 30, 60 and
100 answers the candidates For-you's "judged" mode ranks (`plgl.making.Making._judged`: latents
within `JUDGED_RADIUS` of the trust radius around the champion) are drawn again, from a stream of
their own, and those whose content is new to the user are scored by the swiper's true taste
(normalized). Printed, as means over the swipers of the value minus the champion's (± standard
error), with medians of the values:

* "judge's pick": the content judge's best new candidate rated above the champion, else the
  champion (For-you's rule before its variation);
* "judge's best new": the judge's best new candidate, always new;
* "mean new": an average new candidate;
* "best new": the best new candidate by the true taste (what a perfect judge would pick);
* the judge's Spearman correlation with the taste over the new candidates, how many are new,
  and how often one is rated above the champion;
* the favourite (the best item the swiper rated positively so far, as the suite's) and the
  share of runs in which each pick is below it: with "best new", how often even a perfect
  judge of these candidates would show less than the user's own favourite.

    OMP_NUM_THREADS=1 nice python benchmarks/for_you_pool.py --domain melodies --seeds 0-7
"""

from __future__ import annotations

from typing import Any

import numpy as np
from card_swipers import arguments, every_swiper, swiper, through_cards
from scipy.stats import spearmanr

from plgl.making import JUDGED_RADIUS
from plgl.models import confidence
from plgl.navigation import trust_candidates, trust_radius

STEPS = (30, 60, 100)
PICKS = ("judge's pick", "judge's best new", "mean new", "best new")


def run(domain: str, kind: str, seed: int) -> dict[int, dict[str, float]]:
    """One swiper's For-you pool at each of `STEPS` answers where it has a champion."""
    generator, user = swiper(domain, kind, seed)
    found: dict[int, dict[str, float]] = {}

    def after(session: Any, batch: Any) -> None:
        row = _pool(session, user, seed) if session.n_ratings in STEPS else None
        if row is not None:
            found[session.n_ratings] = row

    through_cards(generator, user, seed, max(STEPS), after)
    return found


def _pool(session: Any, user: Any, seed: int) -> dict[str, float] | None:
    """The judge's picks and the best among For-you's new candidates, on the true taste;
    None before there is a champion."""
    grounding = session._grounding
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    if champion is None:
        return None
    sure = confidence(session.model, session.n_ratings)
    radius = JUDGED_RADIUS * trust_radius(rated.shape[1], sure)
    own = np.random.default_rng([seed, session.n_ratings])  # not the session's streams
    pool = trust_candidates(session.model, champion[None], grounding.engine.generator, own, radius)
    pool = pool[grounding.distinct(pool, grounding.shown(rated, champion))]
    judged = grounding.judge.compare(rated, labels, np.vstack([champion, pool]), grounding.pairs())
    above, scores = judged[1][1:] > judged[1][0], judged[1][1:]
    values = user.normalized(pool) if len(pool) else np.zeros(0)
    base = float(user.normalized(champion[None])[0])
    favourite = _favourite(user, rated, labels, grounding.pairs())
    if not len(pool):
        return {
            "champion": base,
            "favourite": favourite,
            **dict.fromkeys(PICKS, base),
            "rho": np.nan,
            "new": 0.0,
            "above": 0.0,
        }
    pick = values[above][np.argmax(scores[above])] if above.any() else base
    return {
        "champion": base,
        "favourite": favourite,
        "judge's pick": float(pick),
        "judge's best new": float(values[np.argmax(scores)]),
        "mean new": float(values.mean()),
        "best new": float(values.max()),
        "rho": float(spearmanr(scores, values).statistic) if len(pool) > 3 else np.nan,
        "new": float(len(pool)),
        "above": float(above.any()),
    }


def _favourite(
    user: Any,
    rated: np.ndarray,
    labels: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray] | None,
) -> float:
    """The best normalized true value among the items rated positively: liked (rated (n, d)
    with labels (n,) above 0.5) or chosen (the winners of `pairs`)."""
    positive = [rated[labels > 0.5]] + ([pairs[0]] if pairs is not None else [])
    latents = np.vstack(positive)
    return float(user.normalized(latents).max()) if len(latents) else -np.inf


def main() -> None:
    args = arguments(__doc__, ("melodies", "molecules"), "0-3")
    _, runs = every_swiper(run, args.domain, args.seeds, args.jobs)
    for step in STEPS:
        rows = [r[step] for r in runs if step in r]
        champion = np.array([r["champion"] for r in rows])
        favourite = np.array([r["favourite"] for r in rows])
        cells = [f"favourite {np.median(favourite):.2f}", f"champion {np.median(champion):.2f}"]
        for name in PICKS:
            values = np.array([r[name] for r in rows])
            gain = values - champion
            error = gain.std(ddof=1) / np.sqrt(len(gain))
            below = np.mean(values < favourite - 1e-9)
            cells.append(
                f"{name} {np.median(values):.2f} ({gain.mean():+.3f} ± {error:.3f}; "
                f"below the favourite {below:.0%})"
            )
        rho = np.nanmean([r["rho"] for r in rows])
        new = np.mean([r["new"] for r in rows])
        above = np.mean([r["above"] for r in rows])
        print(
            f"{step} answers, {len(rows)} runs: " + ", ".join(cells) + f"; judge's correlation "
            f"{rho:.2f} over {new:.0f} new candidates, one above the champion in {above:.0%}"
        )


if __name__ == "__main__":
    main()
