"""Where the `population-faces` swipers lose: the faces shown, the favourite, the challengers.

    python benchmarks/population_faces_diagnosis.py                 # 20 swipers, no noise
    python benchmarks/population_faces_diagnosis.py --seeds 0-9 --engines "mixture prior"
    python benchmarks/population_faces_diagnosis.py --batch 5       # the web app's batches
    python benchmarks/population_faces_diagnosis.py --oracle crown  # bounds: see below

The same new swipers, population (500 earlier swipers, no noise) and engines as
`plgl bench --suite population-faces` (same seeds, same answers), through the web app's cards,
`--batch` cards at a time (the suite's 10 by default). At 10, 20 and 30 answers, per swiper:
For-you (`recommend(1)`), the best face shown so far and the best rated positively (liked, or
chosen in a pair card), all as true normalized utility (1 = the best of the bank's 3,000
faces), and the model's rank correlation with the swiper's taste over the bank. Medians over
swipers, how many reach 0.9, and, for the lower half by For-you at the last step, whether a
face of 0.9 was ever shown: if not, what the feed asks is what loses; if it was, the choice of
favourite.

Favourite cards (`plgl.feed.Feed._favourite_cards`, users started from a population prior)
choose challengers among the feed's candidates (`plgl.samplers.incumbent.challengers`): per
such batch, how many candidates there were and from where (the sampler's proposals, the
grounded ones near the best-rated, twin latents made to be compared, the latents drawn around
the favourite), their latent distance from the favourite, how much better than the favourite
the best candidate and the best chosen challenger truly are, and how many candidates truly
beat it.

Per such batch also: how well each expert ranks the candidates (Spearman correlation with the
swiper's true utility: the posterior's mean log-odds, the content judge's, their sum) and how
much better than the favourite the best of the top `n` by each truly is, beside the best of
the `n` challengers expected improvement chose: what a better score of the candidates could
gain.

`--oracle` gives a bound on what a better choice could gain, the swiper's true utility standing
in for one of the feed's choices for users started from a population prior: "crown", the
champion is the truly best face the user chose (a perfect crown); "challengers", the
challengers are the truly best of the candidates (a perfect score of the candidates).

After every batch: the champion the next batch is made for (`Grounding.champion`), how it
was crowned (the latest duel's winner, or the best of a crowd of challengers that beat the
same favourite, by the judge, the posterior or both), against the best face the user chose;
and For-you against it: its value, whether it is new content (For-you must never show the
old favourite again) and its latent distance from the champion.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per core, set before numpy loads

import argparse
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

import plgl.feed
import plgl.feed_duels
from plgl.bench.suites import population_faces as suite
from plgl.bench.suites.swipers import _answer
from plgl.bench.swipers import ContentSwiper, random_features
from plgl.engine import Engine
from plgl.generators import get
from plgl.grounding import Grounding, informed
from plgl.models import LinearPreference
from plgl.models.mixture import MixturePreference
from plgl.samplers.pairs import beliefs

STEPS = (10, 20, 30)
GOOD = 0.9


class Tracer:
    """Records where the challengers' candidates came from and what they were truly worth."""

    def __init__(self) -> None:
        self.tags: dict[bytes, str] = {}
        self.user: ContentSwiper | None = None
        self.rows: list[dict[str, Any]] = []
        self.crowns: list[dict[str, Any]] = []
        self.feed: plgl.feed.Feed | None = None  # the feed whose favourite cards are made

    def tag(self, latents: np.ndarray, source: str) -> np.ndarray:
        for latent in np.asarray(latents, dtype=float):
            self.tags.setdefault(latent.tobytes(), source)
        return latents

    def oracle(self, which: str) -> None:
        """Let the swiper's true utility choose the champion ("crown") or the challengers
        ("challengers") of a user started from a population prior."""
        if which == "crown":
            champion = Grounding.champion

            def truly_best(grounding: Grounding, model: Any, *args: Any, **kwargs: Any) -> Any:
                if not (grounding.ladder.positives and informed(model)):
                    return champion(grounding, model, *args, **kwargs)
                positives = np.array(grounding.ladder.positives)
                assert self.user is not None
                return positives[int(np.argmax(self.user.normalized(positives)))]

            Grounding.champion = truly_best  # type: ignore[method-assign]
        elif which == "challengers":

            def best_candidates(
                model: Any, champion: np.ndarray, latents: np.ndarray, n: int
            ) -> np.ndarray:
                assert self.user is not None
                return np.argsort(-self.user.normalized(latents), kind="stable")[:n]

            plgl.feed_duels.challengers = best_candidates

    def install(self) -> None:
        near_best, proposals = Grounding.near_best, plgl.feed.pair_proposals
        around = getattr(plgl.feed_duels, "neighbours", None)  # absent from the code before it
        chosen = plgl.feed_duels.challengers
        favourite_cards = plgl.feed.Feed._favourite_cards

        def traced_cards(feed: plgl.feed.Feed, *args: Any) -> Any:
            self.feed = feed
            return favourite_cards(feed, *args)

        def traced_near(grounding: Grounding, *args: Any) -> np.ndarray:
            return self.tag(near_best(grounding, *args), "near best")

        def traced_twins(*args: Any, **kwargs: Any) -> np.ndarray:
            return self.tag(proposals(*args, **kwargs), "twins")

        def traced_around(*args: Any, **kwargs: Any) -> np.ndarray:
            return self.tag(around(*args, **kwargs), "around the favourite")  # type: ignore[misc]

        def traced_challengers(
            model: Any, champion: np.ndarray, latents: np.ndarray, n: int
        ) -> np.ndarray:
            rows = chosen(model, champion, latents, n)
            self.record(champion, np.asarray(latents, dtype=float), rows)
            self.rank(model, champion, np.asarray(latents, dtype=float), rows)
            return rows

        Grounding.near_best = traced_near  # type: ignore[method-assign]
        plgl.feed.pair_proposals = traced_twins
        plgl.feed_duels.challengers = traced_challengers
        plgl.feed.Feed._favourite_cards = traced_cards  # type: ignore[method-assign]
        if around is not None:
            plgl.feed_duels.neighbours = traced_around

    def rank(self, model: Any, champion: np.ndarray, latents: np.ndarray, rows: np.ndarray) -> None:
        """How each expert ranks the candidates (latents (m, d)) against the truth, and what
        the top `len(rows)` by each gains over the champion (d,), beside the chosen `rows`."""
        assert self.user is not None and self.feed is not None
        grounding = self.feed.grounding
        values = self.user.normalized(np.vstack([champion, latents]))
        gain = values[1:] - values[0]
        rated, labels = grounding.evidence()
        judged = grounding.judge.compare(rated, labels, latents, grounding.pairs())[1]
        posterior = beliefs(model, latents)[0]
        row = self.rows[-1]
        for name, score in (
            ("posterior", posterior),
            ("judge", judged),
            ("sum", posterior + judged),
        ):
            top = np.argsort(-score, kind="stable")[: len(rows)]
            row[f"rho {name}"] = float(spearmanr(score, gain)[0])
            row[f"top {name}"] = float(gain[top].max())

    def crown(self, session: Any, positive: list[np.ndarray], pick: Any) -> None:
        """After a batch: the champion the next batch is made for and how it was crowned (the
        latest duel's winner, or the best of a crowd by `favourite_logits`), against the best
        face the user chose; and For-you, new content or not, against the champion."""
        assert self.user is not None
        grounding, model = session._grounding, session.model
        rated, labels = grounding.evidence()
        champion = grounding.champion(model, rated, labels, None)
        if champion is None or not positive:
            return
        crowd = np.array(grounding.ladder.crowd).reshape(-1, len(champion))
        crowned = len(crowd) >= 2 and grounding.ladder.champion is not None
        best = float(self.user.normalized(np.array(positive)).max())
        row: dict[str, Any] = {
            "n": session.n_ratings,
            "champion": float(self.user.normalized(champion[None])[0]),
            "best chosen": best,
            "for you": float(self.user.normalized(pick.latent[None])[0]),
            "new": pick.source == "recommend",
            "step": float(np.linalg.norm(pick.latent - champion)),
            "crowd": len(crowd) if crowned else 0,
        }
        if crowned:
            values = self.user.normalized(crowd)
            judged = grounding.judge.compare(rated, labels, crowd, grounding.pairs())[1]
            posterior = model.decision_function(crowd)
            row |= {
                "crowd best": float(values.max()),
                "best in crowd": bool(values.max() >= best - 1e-9),
                "by judge": float(values[int(np.argmax(judged))]),
                "by posterior": float(values[int(np.argmax(posterior))]),
            }
        self.crowns.append(row)

    def record(self, champion: np.ndarray, latents: np.ndarray, rows: np.ndarray) -> None:
        assert self.user is not None
        values = self.user.normalized(np.vstack([champion, latents]))
        sources = [self.tags.get(latent.tobytes(), "sampler") for latent in latents]
        counts = defaultdict(int)
        for source in sources:
            counts[source] += 1
        distance = np.linalg.norm(latents - champion, axis=1)
        self.rows.append(
            {
                "m": len(latents),
                "sources": dict(counts),
                "distance": float(np.median(distance)),
                "chosen distance": float(np.median(distance[rows])),
                "chosen from": [sources[r] for r in rows],
                "best gain": float(values[1:].max() - values[0]),
                "chosen gain": float(values[1:][rows].max() - values[0]),
                "better": int((values[1:] > values[0]).sum()),
            }
        )


def run(seed: int, engine_name: str, batch: int, tracer: Tracer) -> dict[int, tuple[float, ...]]:
    """Per step: (For-you, best shown, best positive, model's rank correlation over the bank)."""
    generator = get("faces")
    population = suite._population("no noise", 1.0, 0)
    bank, embedding = suite._bank(suite._bank_size(1.0))
    direction = suite._member(np.random.default_rng([80_000, seed]))  # as the suite draws it
    values = embedding @ direction
    user = ContentSwiper(
        generator, random_features(suite._filters(), direction), seed=seed, prior_values=values
    )
    tracer.user = user
    model = {
        "scratch": None,
        "mixture prior": MixturePreference(mixture=population.mixture_prior()),
        "population prior": LinearPreference(prior=population.prior()),
    }[engine_name]
    answers = np.random.default_rng(20_000 + seed)  # the suite's answer stream
    out: dict[int, tuple[float, ...]] = {}
    with Engine(generator, seed=seed, model=model) as engine:
        session = engine.session(f"swiper-{seed}")
        shown: list[np.ndarray] = []
        positive: list[np.ndarray] = []
        while session.n_ratings < STEPS[-1]:
            for card in session.next_cards(batch - session.n_ratings % batch):
                shown += [item.latent for item in card]
                chosen = _answer(session, user, card, answers)
                positive += [] if chosen is None else [chosen]
            item = session.recommend(1)[0]
            pick = item.latent[None]
            tracer.crown(session, positive, item)
            if session.n_ratings not in STEPS:
                continue
            rho = spearmanr(session.model.decision_function(bank), values)[0]
            out[session.n_ratings] = (
                float(user.normalized(pick)[0]),
                float(user.normalized(np.array(shown)).max()),
                float(user.normalized(np.array(positive)).max()) if positive else np.nan,
                float(rho),
            )
    return out


def report_challengers(rows: list[dict[str, Any]]) -> None:
    """Print the medians of the favourite cards' candidate sets."""
    if not rows:
        return
    sources: dict[str, list[int]] = defaultdict(list)
    chosen: dict[str, int] = defaultdict(int)
    for row in rows:
        for source in {s for r in rows for s in r["sources"]}:
            sources[source].append(row["sources"].get(source, 0))
        for source in row["chosen from"]:
            chosen[source] += 1
    total = sum(chosen.values())

    def med(name: str) -> float:
        return float(np.median([row[name] for row in rows]))

    print(
        f"favourite cards: {len(rows)} batches; candidates {med('m'):.0f} (median) from "
        + ", ".join(f"{s} {np.median(c):.0f}" for s, c in sorted(sources.items()))
        + "; challengers chosen from "
        + ", ".join(f"{s} {100 * c / total:.0f}%" for s, c in sorted(chosen.items()))
    )
    print(
        f"latent distance from the favourite: candidates {med('distance'):.1f}, chosen "
        f"{med('chosen distance'):.1f}; truly better than the favourite: {med('better'):.0f} "
        f"candidates; best candidate {med('best gain'):+.2f} over it, best chosen "
        f"{med('chosen gain'):+.2f} (medians per batch)"
    )
    experts = ("posterior", "judge", "sum")
    print(
        "ranking the candidates (Spearman with the truth; best of the top n over the favourite): "
        + ", ".join(f"{e} {med('rho ' + e):.2f} ({med('top ' + e):+.2f})" for e in experts)
        + f"; expected improvement's n {med('chosen gain'):+.2f} (medians per batch)"
    )


def report_crowns(rows: list[dict[str, Any]]) -> None:
    """Print how the champion was crowned and how For-you stands to it, per step."""
    for step in STEPS:
        at = [row for row in rows if row["n"] == step]
        if not at:
            continue
        crowds = [row for row in at if row["crowd"]]

        def med(name: str, of: list[dict[str, Any]] = at) -> float:
            return float(np.median([row[name] for row in of])) if of else float("nan")

        new = np.mean([row["new"] for row in at])
        missed = sum(r["best in crowd"] and r["champion"] < r["crowd best"] for r in crowds)
        print(
            f"{step} answers: champion {med('champion'):.2f}, best chosen {med('best chosen'):.2f}"
            f" (gap {np.median([r['best chosen'] - r['champion'] for r in at]):+.2f}), For-you "
            f"{med('for you'):.2f} ({100 * new:.0f}% new content, {med('step'):.1f} latent "
            f"units from the champion); crowned from a crowd: {len(crowds)} of {len(at)} "
            f"(size {med('crowd', crowds):.0f}; crowned {med('champion', crowds):.2f}, crowd's"
            f" best {med('crowd best', crowds):.2f}, by judge {med('by judge', crowds):.2f}, by "
            f"posterior {med('by posterior', crowds):.2f}); best chosen in the crowd and not "
            f"crowned: {missed}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-19", help="range, e.g. 0-19")
    parser.add_argument("--engines", default="scratch,mixture prior,population prior")
    parser.add_argument("--batch", type=int, default=10, help="cards per batch (web app: 5)")
    parser.add_argument("--oracle", choices=("crown", "challengers"), help="a bound (docstring)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    low, high = (int(s) for s in args.seeds.split("-"))
    tracer = Tracer()
    if args.oracle:  # first, so that the traced challengers wrap the oracle's
        tracer.oracle(args.oracle)
    tracer.install()
    for engine_name in args.engines.split(","):
        tracer.rows = []
        runs = {seed: run(seed, engine_name, args.batch, tracer) for seed in range(low, high + 1)}
        print(f"\n{engine_name}: medians over {len(runs)} swipers (count >= {GOOD})")
        print("answers | For-you | best shown | best positive | rank corr. over the bank")
        for step in STEPS:
            rows = np.array([runs[seed][step] for seed in runs])
            med = np.nanmedian(rows, axis=0)
            good = (rows[:, :3] >= GOOD).sum(axis=0)
            print(
                f"{step:7d} | {med[0]:.2f} ({good[0]:2d}) | {med[1]:.2f} ({good[1]:2d}) | "
                f"{med[2]:.2f} ({good[2]:2d}) | {med[3]:.2f}"
            )
        last = sorted(runs, key=lambda seed: runs[seed][STEPS[-1]][0])[: len(runs) // 2]
        never = [seed for seed in last if runs[seed][STEPS[-1]][1] < GOOD]
        print(
            f"lower half at {STEPS[-1]} answers (For-you): {len(never)} of {len(last)} were "
            f"never shown a face of {GOOD} (swipers {never}); best shown there, median "
            f"{np.median([runs[s][STEPS[-1]][1] for s in last]):.2f}"
        )
        report_challengers(tracer.rows)
        report_crowns(tracer.crowns)


if __name__ == "__main__":
    main()
