"""Champion duels: the user's own comparisons find their favourite, and climb from it.

From likes and dislikes alone neither a latent model nor a content judge can tell which of
thirty liked items is the best. A comparison can: once the user has liked something, some
pair cards of the feed (`plgl.feed.Feed.cards`) pit the champion (the best liked item, as the
user's comparisons found it) against a challenger made for the user near it. The winner is the
champion. This is the dueling-bandit hill climb of Yue & Joachims (2009, "Interactively
optimizing information retrieval systems as a dueling bandits problem"): a candidate near the
current point, kept when the user prefers it; here the candidate is not a random step but the
best the posterior and the content judge see within a trust region, and the region shrinks
while the champion keeps winning (as TuRBO's does after failures, Eriksson et al. 2019).

The champion, replayed from the stored events, is `plgl.ladder.Ladder`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.models import confidence
from plgl.navigation import farthest_points, trust_candidates, trust_radius

if TYPE_CHECKING:
    from plgl.grounding import Grounding

DUEL_SHARE = 0.5
"""Share of the cards of a feed batch that are champion duels, once the user has a like: 70%
and 35% were lower on the `swipers` suite's melodies, 70% on its molecules (the swipes and
pair cards that find new likes still matter; docs/learning.md, "Choice cards")."""
DUEL_CARD = 4
"""Items on a duel card: the champion and three challengers, of which the user chooses one (one
answer, `Session.choose`), so that each answer tries three steps of the climb, not one. A
choice from a gallery is one query in Koyama et al. (2020, "Sequential gallery for interactive
visual design optimization"); on the `swipers` suite it lifted For-you on melodies and
molecules (docs/learning.md, "Choice cards")."""
EVERY_RIVAL = frozenset({"judged"})
"""For-you modes in which every positively rated item that never lost a duel is a rival
(`rivals`), not only those the content judge rates above the champion. In the "judged" mode
(melodies, molecules) the judge may rank the best liked item low (on the `swipers` suite's
molecules 12th of 49 at 60 answers, median), and in two runs of three it had never met the
champion; with every liked item a rival, For-you rose on molecules and melodies and fewer
picks were below the favourite; on faces ("grounded") the favourite climbed less
(docs/learning.md, "Every liked item meets the champion")."""
DUEL_RADIUS = 0.25
"""Share of the trust radius (`plgl.navigation.trust_radius`) within which a challenger is
made: near the champion, where the judge's and the posterior's view of the content holds."""
DUEL_RADII: dict[str, float] = {"melodies": 0.5}
"""`DUEL_RADIUS` per built-in domain where it differs. A melody's decoder is discrete: a step
of a fifth of the least trust radius changes 5 or 6 of its 16 steps when it changes any, yet
near an established champion few neighbours are better and those only a little, so a duel
against a close challenger is nearly a coin toss for a user who answers with noise. Twice the
radius made the duels climb further (the `swipers` suite's melodies, 72 swipers: the
favourite at 100 answers 0.93 against 0.87, For-you +0.08 +- 0.03; docs/learning.md)."""
DUELS_FROM: dict[str, int] = {"faces": 40}
"""Answers a user gives before the first duel, per built-in domain (others: 0), chosen by the
`swipers` benchmark suite: on faces the feed's pair cards find very good faces early, and duels
from the start took those cards (For-you at 30 answers 0.38 against 0.77 when duels start at
40, which was also ahead at 60 and 100: 0.96 and 1.07 against 0.76 and 0.89)."""
CANDIDATES = 64
"""Latents near the champion that For-you's judge looks at for a variation on it
(`plgl.grounding`; perceptual maps are costly)."""
DUEL_CANDIDATES = 32
"""Latents near the champion that the judge looks at per batch of duels: each costs a
perceptual map (a decode of a face, about 1.7 ms of CPU), the most of a duel batch's CPU. 64
(`CANDIDATES`) before; on the `swipers` suite's faces runs, 32 with the short list kept a share
(`SHORTLIST`) changed For-you and the favourite by (paired means over 30 runs, seeds 0-9, with
standard errors) -0.03 +- 0.02 and -0.015 +- 0.009 at 60 answers, +0.00 +- 0.04 and
-0.01 +- 0.02 at 100: within noise, with a lean below at 60. 16 changed them by -0.01 and
+0.00 at 60, -0.04 +- 0.03 and -0.02 +- 0.03 at 100; 24 with a short list of 4 per duel,
not a share, fell behind (favourite at 60, 15 runs: -0.044 +- 0.016)."""
FRESH: dict[str, int] = {"molecules": 64}
"""Prior samples the content judge looks at per batch of duels, per built-in domain (others:
none); its best whose content is new to the user is a challenger on each duel card, from
anywhere in the prior rather than near the champion (`fresh`). A molecule's neighbourhood
runs dry: on 18 of the `swipers` suite's molecules the best molecule shown was only a few
hundredths above random search of as many, and in 61% of the runs it did not improve from 60
to 100 answers while about 100 more were shown, most near the champion. With a fresh
challenger a card, For-you and the favourite rose at 60 and 100 answers (docs/learning.md,
"Fresh challengers"); on melodies, whose feed beats random search by about 0.1, For-you fell."""
SHORTLIST = 16
"""Per duel, the judge's best 1/SHORTLIST of the candidates are short-listed (2 per duel of 32,
as 4 of 64 were) and the challengers chosen among them for diversity: the share, not the
number, keeps the challengers as good by the judge when fewer candidates are looked at."""


def duels_due(
    n: int,
    rng: np.random.Generator,
    n_ratings: int = 0,
    domain: str = "",
    share: float = DUEL_SHARE,
) -> int:
    """How many of the next `n` cards are champion duels (binomial: a batch of one card may
    be a duel too); none before `DUELS_FROM[domain]` answers (`n_ratings`)."""
    if n_ratings < DUELS_FROM.get(domain, 0):
        return 0
    return int(rng.binomial(n, share))


def duel(
    grounding: Grounding, model: Any, n: int, n_ratings: int, rng: np.random.Generator
) -> tuple[np.ndarray | None, np.ndarray]:
    """The champion (d,) of a user's `grounding` (None before anything was rated positively)
    and (m <= n, d) challengers for it: rivals (`rivals`), up to half of them, one a card from
    anywhere in the prior where the domain has `FRESH` samples (`fresh`), and new
    latents near the champion that the content judge (or, without one, the posterior mean)
    rates highest, within a radius that shrinks while the champion keeps winning, each of
    content other than the champion's, diverse (`challengers`)."""
    rated, labels = grounding.evidence()
    d = grounding.engine.generator.latent_dim
    judge = grounding.judge
    scores = judge.scores(rated, labels, grounding.pairs()) if judge is not None else None
    champion = grounding.champion(model, rated, labels, scores)
    if champion is None:
        return None, np.empty((0, d))
    domain = str(getattr(grounding.engine.generator, "name", ""))
    share = DUEL_RADII.get(domain, DUEL_RADIUS) if grounding.mode == "judged" else 1.0
    full = share * trust_radius(d, confidence(model, n_ratings))
    generator = grounding.engine.generator
    pool = trust_candidates(model, champion[None], generator, rng, grounding.ladder.radius(full))
    pool = pool[rng.permutation(len(pool))[:DUEL_CANDIDATES]]
    maps = None
    if judge is not None:
        maps = judge.candidate_maps(pool)
        _, judged = judge.compare(rated, labels, pool, grounding.pairs(), maps=maps)
    else:
        judged = pool @ np.asarray(model.coef_)
    ranked = np.argsort(-judged, kind="stable")[: -(-n * DUEL_CANDIDATES // SHORTLIST)]
    found = rivals(grounding, model, champion, (n + 1) // 2)
    cards = -(-n // (DUEL_CARD - 1))  # one fresh challenger a card, where the domain has them
    found = np.vstack([found, fresh(grounding, champion, min(cards, n - len(found)), rng)])
    picks = ranked[challengers(grounding, pool[ranked], champion, n - len(found))]
    if judge is not None and maps is not None and len(picks):
        judge.remember(pool[picks], maps[picks])  # shown now, rated next: mapped once
    return champion, np.vstack([found, pool[picks]])[:n]


def fresh(
    grounding: Grounding, champion: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """(m <= k, d) challengers from anywhere in the prior: the content judge's best of
    `FRESH[domain]` prior samples whose content is new to the user (not the champion's (d,),
    nor anything rated or compared); none where the domain has no `FRESH` entry or the
    generator no judge."""
    generator = grounding.engine.generator
    judge = grounding.judge
    n = FRESH.get(str(getattr(generator, "name", "")), 0)
    if judge is None or n <= 0 or k <= 0:
        return np.empty((0, len(champion)))
    samples = generator.project(generator.sample(n, rng))
    maps = judge.candidate_maps(samples)
    rated, labels = grounding.evidence()
    _, judged = judge.compare(rated, labels, samples, grounding.pairs(), maps=maps)
    best = np.argsort(-judged, kind="stable")[: 4 * k]
    kept = best[grounding.distinct(samples[best], grounding.shown(rated, champion))[:k]]
    judge.remember(samples[kept], maps[kept])  # shown now, rated next: mapped once
    return np.asarray(samples[kept])


def challengers(
    grounding: Grounding, ranked: np.ndarray, champion: np.ndarray, k: int
) -> np.ndarray:
    """Indices of up to `k` of the latents `ranked` (m, d), best first, chosen for diversity
    (`farthest_points` from the best), each of content other than the champion's (d,) and the
    others': what the duels show.

    Only the content of the chosen is made (through the engine's content cache, which the feed
    then reads to show them), not that of every ranked latent: where a chosen latent's content
    is the champion's or a better-ranked chosen one's, it is left out and the choice made
    again. Where no two latents make the same content (faces) this is the choice among all
    `ranked`; where some do, the choice among the rest."""
    left = np.arange(len(ranked))
    if k <= 0 or not len(left):
        return np.empty(0, dtype=int)
    cache, user = grounding.engine.cache, grounding.user_id
    content_key = grounding.engine.generator.content_key
    seen = {content_key(c) for c in cache.contents(champion[None], user)}
    made: dict[int, bytes] = {}  # ranked index -> content key, of the latents made
    while True:
        chosen = left[farthest_points(ranked[left], k)]
        todo = [int(i) for i in chosen if int(i) not in made]
        if not todo:
            return np.asarray(chosen, dtype=int)
        for i, content in zip(todo, cache.contents(ranked[todo], user), strict=True):
            made[i] = content_key(content)
        kept, dropped = set(seen), set()
        for i in sorted(made):  # best first: a later copy of a content goes
            if made[i] in kept:
                dropped.add(i)
            kept.add(made[i])
        left = np.array([i for i in left if int(i) not in dropped], dtype=int)
        if not len(left):
            return left


def rivals(grounding: Grounding, model: Any, champion: np.ndarray, k: int) -> np.ndarray:
    """(m <= k, d) positively rated items that never lost a duel (`Ladder.contenders`), best
    first by the content judge (or, without an opinion, the posterior mean): the champion (d,)
    must beat what the user already chose, not only what is made near it. In the "judged" mode
    every one of them (`EVERY_RIVAL`), elsewhere those the judge rates above the champion,
    else the single best."""
    contenders = [z for z in grounding.ladder.contenders() if not np.array_equal(z, champion)]
    if not contenders:
        return np.empty((0, len(champion)))
    rated, labels = grounding.evidence()
    found = np.vstack([champion, contenders])
    judged = np.zeros(len(found))
    if grounding.judge is not None:
        judged = grounding.judge.compare(rated, labels, found, grounding.pairs())[1]
    if not np.any(judged):
        judged = found @ np.asarray(model.coef_)
    order = np.argsort(-judged[1:], kind="stable")
    taken = len(order) if grounding.mode in EVERY_RIVAL else int(np.sum(judged[1:] > judged[0]))
    return np.asarray(found[1:][order[: min(max(taken, 1), k)]])
