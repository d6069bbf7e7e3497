"""What "For you" shows: recommendations grounded in what the user rated (one per session).

A linear model driven to the top of its range extrapolates past the evidence: on real content
(a face, a melody, a molecule) the taste is not linear in the latent, and the model's best
latent lies far from anything the user rated. The grounded modes start from the user's
best-rated items instead (`plgl.navigation.grounded`), and where the generator has a
perceptual map a content judge (`plgl.navigation.ContentJudge`) picks the favourite to build on.

Modes (`Engine(for_you=...)`; None picks the generator's `FOR_YOU` entry, else "grounded" for a
generator with a perceptual map and "top" for one without):

* "top": the closed-form top of the model on the shell (the linear model is exact on latents
  that are the content, as with `identity`).
* "grounded": new latents whose improvement over the favourite has a positive lower bound
  under the posterior (`grounded_best`), anchors chosen by the content judge.
* "judged": latents near the favourite ranked by the content judge itself, kept only where the
  judge rates them above the favourite (for decoders whose content jumps: a latent step lands
  on another item, which the latent model cannot foresee but the judge can look at).

Both grounded modes start from the champion (`plgl.duels`): the item the user's own
comparisons found best (the winner of their latest champion duel; of several that beat the
same champion, the best by the judge), or before the first duel the best item they rated
positively (liked, or chosen in a comparison) by the content judge, which learns from likes,
dislikes and comparisons alike, with the latent posterior's log-odds added where the user's
prior is a population's (`Grounding.favourite_logits`). Where it is, the champion is the best
by a Bradley-Terry fit of all the user's comparisons with both experts as its prior
(`Grounding.standings`). When
nothing new is predicted better, either shows a variation on the champion first (new content
close to it, the judge's best: For-you makes something, it does not show an old like again;
`plgl.making`), then the champion itself, marked `source="favourite"` (other rated
items "liked").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.generators import has_perceptual
from plgl.history import item_ids
from plgl.ladder import Ladder, key
from plgl.making import Making
from plgl.models import LinearPreference, OnlinePreferenceModel, confidence, is_linear
from plgl.models.mixture import MixturePreference
from plgl.navigation import ContentJudge, grounded_at, grounded_best, grounded_new
from plgl.records import Comparison, Feedback
from plgl.samplers.incumbent import standings

if TYPE_CHECKING:
    from plgl.engine import Engine

Standings = tuple[np.ndarray, np.ndarray, np.ndarray]
"""The items rated positively (k, d) and the belief about their log-odds: mean (k,), covariance
(k, k) (`Grounding.standings`)."""
MODES = ("top", "grounded", "judged")
FOR_YOU: dict[str, str] = {"faces": "grounded", "melodies": "judged", "molecules": "judged"}
"""The mode of each built-in domain, chosen by the `swipers` benchmark suite (docs/learning.md)."""
_LABELS = {"like": 1.0, "superlike": 1.0, "dislike": 0.0}  # explicit answers only


def for_you_mode(generator: Any, mode: str | None = None) -> str:
    """The For-you mode for `generator`: `mode` checked, or its default (module docstring)."""
    if mode is None:
        default = "grounded" if has_perceptual(generator) else "top"
        return FOR_YOU.get(str(getattr(generator, "name", "")), default)
    if mode not in MODES:
        raise InvalidInputError(f"for_you must be one of {', '.join(MODES)} or None, got {mode!r}")
    if mode == "judged" and not has_perceptual(generator):
        raise InvalidInputError(
            f"for_you='judged' needs a perceptual map; {generator.name} has none"
        )
    return mode


class Grounding(Making):
    """One user's evidence (liked and disliked latents, read incrementally from storage) and
    content judge, and the grounded navigation built on them."""

    def __init__(self, engine: Engine, user_id: str, context: str | None) -> None:
        self.engine = engine
        self.user_id = user_id
        self.context = context
        self.mode = engine.for_you
        generator = engine.generator
        maps = engine.perceptual_maps
        self.judge = ContentJudge(generator, maps=maps) if has_perceptual(generator) else None
        self._read = 0  # events read so far
        self._rated: list[np.ndarray] = []
        self._labels: list[float] = []
        self.ladder = Ladder()
        self._made: dict[bytes, bytes] = {}  # latent key -> content key, of shown latents

    def applies(self, model: Any) -> bool:
        """Whether grounded navigation serves this model (an online linear posterior)."""
        return (
            self.mode != "top"
            and isinstance(model, OnlinePreferenceModel)
            and is_linear(model)
            and model.weight_covariance() is not None
        )

    def evidence(self) -> tuple[np.ndarray, np.ndarray]:
        """(n, d) latents the user liked or disliked (this profile's overall taste) and their
        (n,) labels, oldest first; comparisons go to the champion's `ladder`."""
        storage = self.engine.storage
        events = storage.events(self.user_id, self._read)
        self._read += len(events)
        mine = [
            e
            for e in events
            if isinstance(e, Feedback | Comparison)
            and e.criterion is None
            and (self.context is None or e.context == self.context)
        ]
        ids = item_ids(mine)
        latents = storage.item_latents(self.user_id, ids) if ids else {}
        for event in mine:
            if isinstance(event, Feedback):
                if event.signal in _LABELS and event.item_id in latents:
                    self._rated.append(latents[event.item_id])
                    self._labels.append(_LABELS[event.signal])
                    if _LABELS[event.signal] > 0.5:
                        self.ladder.liked(latents[event.item_id])
            elif event.preferred_id in latents:
                losers = [latents[i] for i in event.losers if i in latents]
                self.ladder.chose_among(latents[event.preferred_id], losers)
        d = self.engine.generator.latent_dim
        return np.array(self._rated).reshape(-1, d), np.array(self._labels)

    def champion(
        self,
        model: Any,
        rated: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray | None,
        standings: Standings | None = None,
    ) -> np.ndarray | None:
        """(d,) the champion (`plgl.duels`): the latest duel's winner, or where several
        challengers beat the same champion (a batch's duels, answered in no meaningful order),
        the best of that `crowd`; before the first duel the favourite, the best item rated
        positively (liked, or chosen in a comparison); each by the product of two experts
        (`favourite_logits`); None before anything was rated positively.

        Where the prior is a population's (`informed`, the modes that use the posterior), the
        best item rated positively by `standings` instead: every comparison the user made
        weighs in, not only the latest, since answers can be noisy and the latest winner of
        a noisy duel may be the worse item (`standings`: theirs where the caller has them)."""
        ladder = self.ladder
        if ladder.positives and informed(model) and self.mode != "judged":
            positives, mean, _ = standings or self.standings(model, rated, labels)
            return np.asarray(positives[int(np.argmax(mean))])
        if ladder.champion is not None and len(ladder.crowd) < 2:
            return ladder.champion
        found = np.array(ladder.crowd if ladder.champion is not None else ladder.positives)
        if not len(found):
            return None
        logits = self.favourite_logits(model, rated, labels, found)
        return np.asarray(found[int(np.argmax(logits))])

    def standings(self, model: Any, rated: np.ndarray, labels: np.ndarray) -> Standings:
        """The items rated positively (k, d) and the belief about their log-odds, mean
        (k,) and covariance (k, k): a Bradley-Terry fit of every comparison the user made
        (`plgl.samplers.incumbent.standings`), whose prior is the posterior's belief plus
        the content judge's log-odds (`favourite_logits`'s two experts); k = 0 before
        anything was rated positively (read by `evidence`)."""
        ladder = self.ladder
        latents = list(ladder.positives)
        k = len(latents)
        if not k:  # nothing chosen, so nothing compared either
            d = self.engine.generator.latent_dim
            return np.empty((0, d)), np.empty(0), np.empty((0, 0))
        rows = {key(z): i for i, z in enumerate(latents)}
        wins = []
        for pair in ladder.compared:
            for z in pair:
                if key(z) not in rows:
                    rows[key(z)] = len(latents)
                    latents.append(np.asarray(z, dtype=np.float64))
            wins.append((rows[key(pair[0])], rows[key(pair[1])]))
        found = np.array(latents)
        judged = None
        if self.judge is not None:
            judged = self.judge.compare(rated, labels, found, self.pairs())[1]
        mean, cov = standings(model, found, np.array(wins, dtype=int).reshape(-1, 2), judged)
        return found[:k], mean[:k], cov[:k, :k]

    def favourite_logits(
        self, model: Any, rated: np.ndarray, labels: np.ndarray, positives: np.ndarray
    ) -> np.ndarray:
        """(k,) how good each of the positively rated latents (k, d) is, by the content
        judge's log-odds; where the model's prior carries other users' taste (a population
        prior: `informed`) or the judge has no opinion yet, plus the posterior's calibrated
        log-odds: a product of experts (Hinton 2002).

        On the `population-faces` swipers a posterior started from the population's prior
        ranked faces better than the judge of the perceptual maps (rank correlation with the
        swiper's taste about 0.6 against 0.4 at 30 answers), and adding its log-odds to the
        judge's found better favourites at 20 answers; from a zero-mean prior it was no
        better than the judge, and adding it made the `swipers` suite's faces worse at 60
        answers (docs/learning.md), so there the judge alone decides, as in the "judged" mode (a
        decoder whose content jumps, which the latent model cannot foresee)."""
        positives = np.asarray(positives, dtype=np.float64)
        d = self.engine.generator.latent_dim
        if positives.ndim != 2 or positives.shape[1] != d or not len(positives):
            raise InvalidInputError(f"positives must be (k >= 1, {d}), got {positives.shape}")
        if not np.all(np.isfinite(positives)):
            raise InvalidInputError("positives must be finite latents")
        judged = np.zeros(len(positives))
        if self.judge is not None:
            judged = self.judge.compare(rated, labels, positives, self.pairs())[1]
        if np.any(judged) and (self.mode == "judged" or not informed(model)):
            return judged
        return np.asarray(model.decision_function(positives), dtype=np.float64) + judged

    def best(
        self, model: Any, n: int, n_ratings: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        """(n, d) latents for "For you", best first, and each one's source ("recommend" for
        new content, "favourite" / "liked" for rated items shown again), grounded at the
        champion (`plgl.duels`)."""
        rated, labels = self.evidence()
        generator = self.engine.generator
        sure = confidence(model, n_ratings)
        scores = self.judge.scores(rated, labels, self.pairs()) if self.judge is not None else None
        champion = self.champion(model, rated, labels, scores)
        if self.mode == "judged" and scores is not None and champion is not None:
            picks = self._judged(model, rated, labels, scores, champion, n, rng, sure)
        else:
            picks = grounded_best(
                model, rated, labels, n, generator, rng, sure, scores=scores, champion=champion
            )
        sources = self._sources(picks, rated, champion)
        if sources[0] != "recommend" and champion is not None and self.judge is not None:
            variation = self._variation(model, rated, labels, champion, rng)
            if variation is not None:  # new content first, what the user rated after it
                picks = np.vstack([variation, picks])[:n]
                sources = ["recommend", *sources][:n]
        return picks, sources

    def near_best(self, model: Any, n: int, n_ratings: int, rng: np.random.Generator) -> np.ndarray:
        """(m <= n, d) new latents confidently better than the favourite (by the posterior:
        no content judge on the rating path), for the exploit share of the feed."""
        rated, labels = self.evidence()
        sure = confidence(model, n_ratings)
        champion = self.ladder.champion
        generator = self.engine.generator
        return grounded_new(model, rated, labels, n, generator, rng, sure, champion=champion)

    def at(
        self, model: Any, target_logit: float, n: int, n_ratings: int, rng: np.random.Generator
    ) -> np.ndarray | None:
        """(n, d) latents for a target log-odds above what the favourite is predicted at, kept
        within the trust region (`grounded_at`); None where the evidence does not bind (no
        like yet, or a target at or below the favourite's)."""
        rated, labels = self.evidence()
        liked = rated[labels > 0.5]
        if not len(liked) or target_logit <= float(model.decision_function(liked).max()):
            return None
        sure = confidence(model, n_ratings)
        found = grounded_at(model, rated, labels, target_logit, n, self.engine.generator, rng, sure)
        return found if found is not None and len(found) == n else None


def informed(model: Any) -> bool:
    """Whether a model's prior carries other users' taste: a mixture prior, or a Gaussian
    prior with a mean (a population's; the isotropic and geometry priors have none)."""
    if isinstance(model, MixturePreference) and model.mixture is not None:
        return True
    prior = model.prior if isinstance(model, LinearPreference) else None
    return prior is not None and bool(np.any(prior.mean))
