"""Why the melodies' For-you stays below the favourite: the gap split in two, and the
champion's neighbourhood looked at with the swiper's true taste.

The swipers suite's protocol (`plgl.bench.suites.swipers.swipe`: the default engine through the
web app's cards, batches of 10) on the melody swipers; at 30, 60 and 100 answers, with the
normalized true utility:

* the gap For-you - favourite split into champion - favourite (the duels' climb) and For-you -
  champion (what For-you adds on the champion), by where the pick came from ("variation": the
  variation on the champion, "judged": new content the judge rated above the champion,
  "favourite": the champion shown again);
* around the champion, at each probe radius (`RADII`, shares of the least trust radius
  `trust_radius(d, 0)`), 256 latents drawn as `Making._variation` draws them: the share
  whose melody differs from the champion's, the notes changed (steps of 16 whose token
  differs, among those that differ), the share better than the champion, the judge's best
  (new content) minus the champion, the best of them minus the champion, and the judge's
  rank correlation with the taste among them; and by the judge's margin over the champion
  (log-odds), how many neighbours are better and by how much;
* where the favourite is ("champion", "former": a champion that lost its title, "dueled",
  "contender": never in a duel), the best champion there has been, and what other ways of
  naming the champion would have named, each minus the favourite: the judge's best of all
  positives ("judge all") or of the champions so far ("judge champions"), the champion with
  the best record (wins - losses) or the most wins, and a Bradley-Terry fit of every
  comparison with each strength pulled toward the judge's log-odds (Bradley & Terry 1952).

The probe draws from its own random stream and reads the judge without changing the session,
so For-you and the favourite are those of `benchmarks/melody_judge.py --part swipers`.

    OMP_NUM_THREADS=1 nice python benchmarks/melody_diagnosis.py --seeds 0-3
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from plgl import Engine
from plgl.bench.suites.swipers import _answer
from plgl.bench.swipers import KINDS, swiper
from plgl.generators.melodies import MelodyGenerator
from plgl.grounding import Grounding
from plgl.ladder import key
from plgl.making import Making, _around
from plgl.navigation import trust_candidates, trust_radius

STEPS = (30, 60, 100)
RADII = (0.2, 0.4, 0.8, 1.6)
PROBE = 256
SELECTORS = (
    "sel judge all",
    "sel judge champions",
    "sel record champions",
    "sel wins champions",
    "sel bt champions",
)
_BATCH = 10


def neighbourhood(
    grounding: Grounding, model: Any, user: Any, champion: np.ndarray, rng: np.random.Generator
) -> dict[str, float]:
    """The champion's (d,) neighbours at each of `RADII` (module docstring)."""
    generator = grounding.engine.generator
    rated, labels = grounding.evidence()
    base = trust_radius(len(champion), 0.0)
    mine = generator.generate(champion[None])[0].tokens
    at_champion = float(user.normalized(champion[None])[0])
    out: dict[str, float] = {}
    for share in RADII:
        radius = share * base
        pool = trust_candidates(model, champion[None], generator, rng, radius)
        pool = np.vstack([pool, _around(champion, radius, len(pool), generator, rng)])
        pool = pool[rng.permutation(len(pool))[:PROBE]]
        tokens = np.array([m.tokens for m in generator.generate(pool)])
        changed = np.sum(tokens != np.array(mine), axis=1)
        other = changed > 0
        truth = user.normalized(pool) - at_champion
        judged = grounding.judge.compare(
            rated, labels, np.vstack([champion, pool]), grounding.pairs()
        )[1]
        judged = judged[1:] - judged[0]  # the margin over the champion
        tag = f"r{share}"
        out[f"{tag} differs"] = float(other.mean())
        out[f"{tag} notes"] = float(changed[other].mean()) if other.any() else 0.0
        out[f"{tag} better"] = float((truth[other] > 0).mean()) if other.any() else 0.0
        if other.sum() >= 3:
            pick = np.flatnonzero(other)[np.argmax(judged[other])]
            out[f"{tag} judge best"] = float(truth[pick])
            out[f"{tag} oracle"] = float(truth[other].max())
            out[f"{tag} rho"] = float(spearmanr(judged[other], truth[other]).statistic)
            out[f"{tag} margins"] = (
                judged[other].tolist(),
                truth[other].tolist(),
                float(judged[pick]),
                float(truth[pick]),
            )
    return out


def where(grounding: Grounding, user: Any) -> dict[str, Any]:
    """Where the favourite (the best positively rated item) is: "champion" (the champion
    now), "former" (a champion that lost its title), "dueled" (took part in a duel, never
    champion), "contender" (never in a duel); and the best former champion's utility."""
    ladder = grounding.ladder
    positives = np.array(ladder.positives)
    values = user.normalized(positives)
    best = positives[int(np.argmax(values))]
    found = key(best)
    if ladder.champion is not None and found == key(ladder.champion):
        place = "champion"
    elif found in ladder._champions:
        place = "former"
    elif found in ladder._met:
        place = "dueled"
    else:
        place = "contender"
    former = [i for i, z in enumerate(positives) if key(z) in ladder._champions]
    rated, labels = grounding.evidence()
    judged = grounding.judge.compare(rated, labels, positives, grounding.pairs())[1]
    index = {key(z): i for i, z in enumerate(positives)}
    wins = np.zeros(len(positives))
    losses = np.zeros(len(positives))
    for won, lost in ladder.compared:
        wins[index[key(won)]] += 1
        if key(lost) in index:
            losses[index[key(lost)]] += 1
    out = {
        "place": place,
        "best champion": float(values[former].max()) if former else np.nan,
        "sel judge all": float(values[np.argmax(judged)]),
    }
    if former:
        f = np.array(former)
        out["sel judge champions"] = float(values[f[np.argmax(judged[f])]])
        out["sel record champions"] = float(values[f[np.argmax(wins[f] - losses[f])]])
        out["sel wins champions"] = float(values[f[np.argmax(wins[f])]])
        out["sel bt champions"] = float(
            values[f[np.argmax(bradley_terry(ladder, index, judged)[f])]]
        )
    return out


def bradley_terry(ladder: Any, index: dict[bytes, int], judged: np.ndarray) -> np.ndarray:
    """(k,) strengths of the positives: Bradley-Terry on every comparison, each strength
    pulled toward the judge's log-odds (a Gaussian prior of unit variance); items outside the
    positives (losers only) get a strength of their own, pulled toward the mean."""
    from scipy.optimize import minimize

    keys = dict(index)
    pairs = []
    for won, lost in ladder.compared:
        for z in (won, lost):
            keys.setdefault(key(z), len(keys))
        pairs.append((keys[key(won)], keys[key(lost)]))
    winners, losers = (np.array(x) for x in zip(*pairs, strict=True))
    prior = np.concatenate([judged, np.full(len(keys) - len(judged), judged.mean())])

    def loss(s: np.ndarray) -> tuple[float, np.ndarray]:
        margin = s[winners] - s[losers]
        p = 1 / (1 + np.exp(-margin))
        grad = s - prior
        np.add.at(grad, winners, -(1 - p))
        np.add.at(grad, losers, 1 - p)
        return float(np.sum(np.logaddexp(0, -margin)) + 0.5 * np.sum((s - prior) ** 2)), grad

    return np.asarray(minimize(loss, prior, jac=True, method="L-BFGS-B").x[: len(judged)])


def run(kind: str, seed: int) -> dict[int, dict[str, Any]]:
    """One swiper through the default engine's cards; the measurements at `STEPS`."""
    generator = MelodyGenerator()
    user = swiper("melodies", kind, generator, seed, n_prior=4000)
    made: list[np.ndarray] = []  # the variations For-you made, latest last
    variation = Making._variation

    def recorded(self: Making, *args: Any) -> np.ndarray | None:
        found = variation(self, *args)
        if found is not None:
            made.append(found[0])
        return found

    Making._variation = recorded  # type: ignore[method-assign]
    out: dict[int, dict[str, Any]] = {}
    probe = np.random.default_rng(90_000 + seed)
    try:
        with Engine(generator, seed=seed) as engine:
            session = engine.session(f"swiper-{seed}")
            answers = np.random.default_rng(20_000 + seed)
            favourite = -np.inf
            while session.n_ratings < max(STEPS):
                n = _BATCH - session.n_ratings % _BATCH
                answered = [_answer(session, user, c, answers) for c in session.next_cards(n)]
                positive = [z for z in answered if z is not None]
                if positive:
                    favourite = max(favourite, float(user.normalized(np.array(positive)).max()))
                made.clear()
                pick = session.recommend(1)[0]
                if session.n_ratings not in STEPS:
                    continue
                grounding = session._grounding
                model = session.model
                rated, labels = grounding.evidence()
                champion = grounding.champion(model, rated, labels, None)
                origin = pick.source
                if made and np.array_equal(made[-1], pick.latent):
                    origin = "variation"
                elif origin == "recommend":
                    origin = "judged"
                row: dict[str, Any] = {
                    "for_you": float(user.normalized(pick.latent[None])[0]),
                    "favourite": favourite,
                    "champion": float(user.normalized(champion[None])[0]),
                    "origin": origin,
                    "duels": len(grounding.ladder.compared),
                }
                row.update(where(grounding, user))
                row.update(neighbourhood(grounding, model, user, champion, probe))
                out[session.n_ratings] = row
    finally:
        Making._variation = variation  # type: ignore[method-assign]
    return out


def report(results: list[dict[int, dict[str, Any]]]) -> None:
    """Means over the runs at each of `STEPS`."""
    for step in STEPS:
        rows = [r[step] for r in results]
        fy = np.array([r["for_you"] for r in rows])
        fav = np.array([r["favourite"] for r in rows])
        champ = np.array([r["champion"] for r in rows])
        print(
            f"@{step}: For-you {np.median(fy):.2f} favourite {np.median(fav):.2f} (medians); "
            f"means: gap {np.mean(fy - fav):+.3f} = champion-favourite "
            f"{np.mean(champ - fav):+.3f} + For-you-champion {np.mean(fy - champ):+.3f}; "
            f"champion is the favourite in {np.mean(champ >= fav - 1e-9):.0%}"
        )
        for origin in ("variation", "judged", "favourite", "liked"):
            mine = [r for r in rows if r["origin"] == origin]
            if mine:
                gain = np.array([r["for_you"] - r["champion"] for r in mine])
                print(
                    f"   {origin}: {len(mine)} runs, For-you-champion mean {gain.mean():+.3f}, "
                    f"below the champion in {np.mean(gain < -1e-9):.0%}"
                )
        places = [r["place"] for r in rows]
        print(
            "   favourite is: "
            + ", ".join(
                f"{p} {places.count(p)}" for p in ("champion", "former", "dueled", "contender")
            )
            + "; "
            + ", ".join(
                f"{name[4:]} {np.nanmean([r.get(name, np.nan) for r in rows] - fav):+.3f}"
                for name in SELECTORS
            )
            + f"; best champion ever {np.nanmean([r['best champion'] for r in rows] - fav):+.3f}"
        )
        for share in RADII:
            tag = f"r{share}"
            cells = []
            margins = [r[f"{tag} margins"] for r in rows if f"{tag} margins" in r]
            m = np.concatenate([x[0] for x in margins])
            t = np.concatenate([x[1] for x in margins])
            bm = np.array([x[2] for x in margins])
            bt = np.array([x[3] for x in margins])
            bins = []
            for lo, hi in ((-np.inf, 0), (0, 0.5), (0.5, 1), (1, 2), (2, np.inf)):
                inside = (m > lo) & (m <= hi)
                binside = (bm > lo) & (bm <= hi)
                if inside.any():
                    bins.append(
                        f"({lo},{hi}] n {inside.sum()} better {np.mean(t[inside] > 0):.0%} "
                        f"gain {t[inside].mean():+.3f}; best n {binside.sum()} gain "
                        f"{bt[binside].mean() if binside.any() else np.nan:+.3f}"
                    )
            print(f"   radius {share} margins: " + "; ".join(bins))
            for name in ("differs", "notes", "better", "judge best", "oracle", "rho"):
                values = [r[f"{tag} {name}"] for r in rows if f"{tag} {name}" in r]
                cells.append(f"{name} {np.nanmean(values):+.2f}" if values else f"{name} -")
            print(f"   radius {share}: " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0-3", help="a range, e.g. 0-3")
    parser.add_argument("--kinds", default=",".join(KINDS["melodies"]))
    args = parser.parse_args()
    torch.set_num_threads(1)
    first, last = (int(x) for x in args.seeds.split("-"))
    results = []
    for kind in args.kinds.split(","):
        for seed in range(first, last + 1):
            result = run(kind, seed)
            print(
                kind,
                seed,
                {s: {k: v for k, v in r.items() if "margins" not in k} for s, r in result.items()},
                flush=True,
            )
            results.append(result)
    report(results)


if __name__ == "__main__":
    main()
