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

Either grounded mode returns the favourite itself, marked `source="favourite"` (other rated
items "liked"), when nothing new is better.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.generators import has_perceptual
from plgl.models import OnlinePreferenceModel, confidence, is_linear
from plgl.navigation import (
    ContentJudge,
    farthest_points,
    grounded_at,
    grounded_best,
    grounded_new,
    trust_candidates,
    trust_radius,
)
from plgl.records import Feedback

if TYPE_CHECKING:
    from plgl.engine import Engine

MODES = ("top", "grounded", "judged")
FOR_YOU: dict[str, str] = {"faces": "grounded", "melodies": "judged", "molecules": "judged"}
"""The mode of each built-in domain, chosen by the `swipers` benchmark suite (README)."""
JUDGED_RADIUS = 0.25
"""Share of the trust radius that "judged" searches: near the favourite, where the judge's
view of the content still holds."""
_JUDGED_CANDIDATES = 256  # candidates the judge looks at per call (perceptual maps are costly)
_KNOWN = 5  # best liked items whose content a "judged" pick must differ from
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


class Grounding:
    """One user's evidence (liked and disliked latents, read incrementally from storage) and
    content judge, and the grounded navigation built on them."""

    def __init__(self, engine: Engine, user_id: str, context: str | None) -> None:
        self.engine = engine
        self.user_id = user_id
        self.context = context
        self.mode = engine.for_you
        generator = engine.generator
        self.judge = ContentJudge(generator) if has_perceptual(generator) else None
        self._read = 0  # events read so far
        self._rated: list[np.ndarray] = []
        self._labels: list[float] = []

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
        (n,) labels, oldest first."""
        storage = self.engine.storage
        events = storage.events(self.user_id, self._read)
        self._read += len(events)
        rated = [
            e
            for e in events
            if isinstance(e, Feedback)
            and e.criterion is None
            and e.signal in _LABELS
            and (self.context is None or e.context == self.context)
        ]
        latents = storage.item_latents(self.user_id, [e.item_id for e in rated])
        for event in rated:
            if event.item_id in latents:
                self._rated.append(latents[event.item_id])
                self._labels.append(_LABELS[event.signal])
        d = self.engine.generator.latent_dim
        return np.array(self._rated).reshape(-1, d), np.array(self._labels)

    def best(
        self, model: Any, n: int, n_ratings: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        """(n, d) latents for "For you", best first, and each one's source ("recommend" for
        new content, "favourite" / "liked" for rated items shown again)."""
        rated, labels = self.evidence()
        generator = self.engine.generator
        sure = confidence(model, n_ratings)
        scores = self.judge.scores(rated, labels) if self.judge is not None else None
        if self.mode == "judged" and scores is not None and np.any(labels > 0.5):
            picks = self._judged(model, rated, labels, scores, n, rng, sure)
        else:
            picks = grounded_best(model, rated, labels, n, generator, rng, sure, scores=scores)
        return picks, _sources(picks, rated, labels, model, scores)

    def near_best(self, model: Any, n: int, n_ratings: int, rng: np.random.Generator) -> np.ndarray:
        """(m <= n, d) new latents confidently better than the favourite (by the posterior:
        no content judge on the rating path), for the exploit share of the feed."""
        rated, labels = self.evidence()
        sure = confidence(model, n_ratings)
        return grounded_new(model, rated, labels, n, self.engine.generator, rng, sure)

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

    def _judged(
        self,
        model: Any,
        rated: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray,
        n: int,
        rng: np.random.Generator,
        sure: float,
    ) -> np.ndarray:
        """(n, d): latents near the judge's favourite that the judge rates above it, best first;
        the favourite and the next best liked items fill the rest."""
        assert self.judge is not None
        liked = np.flatnonzero(labels > 0.5)
        order = liked[np.argsort(-scores[liked], kind="stable")]
        radius = JUDGED_RADIUS * trust_radius(rated.shape[1], sure)
        generator = self.engine.generator
        pool = trust_candidates(model, rated[order[:1]], generator, rng, radius)
        pool = pool[rng.permutation(len(pool))[:_JUDGED_CANDIDATES]]
        _, judged = self.judge.compare(rated, labels, pool)
        better = judged > scores[order[0]]
        ranked = pool[better][np.argsort(-judged[better], kind="stable")][: 4 * n]
        picks = ranked[self._distinct(ranked, rated[order[:_KNOWN]])]
        picks = picks[farthest_points(picks, n)] if len(picks) else picks
        return np.vstack([picks, rated[order]])[:n] if len(picks) < n else picks

    def _distinct(self, latents: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Indices of the latents (m, d) whose content differs from that of `known` (k, d) and
        of the latents before them: a step in the latent of a decoder that jumps often lands on
        the same item."""
        generator = self.engine.generator
        seen = {_content_key(c) for c in generator.generate(known)}
        keep = []
        for i, content in enumerate(generator.generate(latents) if len(latents) else []):
            key = _content_key(content)
            if key not in seen:
                seen.add(key)
                keep.append(i)
        return np.array(keep, dtype=int)


def _content_key(content: Any) -> bytes | str:
    """A hashable key equal for equal content (arrays by their bytes, others by repr)."""
    if isinstance(content, np.ndarray):
        return content.tobytes()
    return repr(content)


def _sources(
    picks: np.ndarray, rated: np.ndarray, labels: np.ndarray, model: Any, scores: Any
) -> list[str]:
    """Why each pick is shown: "recommend" (new), "favourite" (the best liked item, by the
    judge's `scores` or the model), or "liked" (another rated item)."""
    if not len(rated) or not np.any(labels > 0.5):
        return ["recommend"] * len(picks)
    liked = np.flatnonzero(labels > 0.5)
    judged = scores if scores is not None else model.decision_function(rated)
    favourite = rated[liked[int(np.argmax(judged[liked]))]]
    out = []
    for pick in picks:
        if np.array_equal(pick, favourite):
            out.append("favourite")
        elif np.any(np.all(rated == pick, axis=1)):
            out.append("liked")
        else:
            out.append("recommend")
    return out
