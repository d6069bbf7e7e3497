"""Which rated item is the user's favourite: a judge of the content, beside the latent model.

Likes and dislikes say little about which of thirty liked items is the best; a linear model over
latents judges them by one global direction, which a nonlinear generator bends. A logistic
regression on the items' perceptual maps (`Generator.perceptual`: a face's thumbnail, a melody's
soft piano roll), plus their squared distance from the average rated item (so that it can also
prefer one kind of item), judges them by what they look or sound like. On simulated face swipers it
found a far better favourite among the liked items than the latent model did (see the
`swipers` benchmark suite); `grounded_best(..., scores=content_scores(...))` uses it to choose
the anchors of grounded recommendations.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from plgl.errors import InvalidInputError
from plgl.generators._decodes import RecentlyDecoded, decode_key

STRENGTH = 0.1
"""Inverse L2 penalty of the logistic regression (scikit-learn's C): strong shrinkage, since
a perceptual map has hundreds of dimensions and a user has rated tens of items."""
WINDOW = 256
"""The most recent rated items judged: bounds the cost of a judgement as ratings pile up."""
SHARED_MAPS = 64 * WINDOW
"""Perceptual maps an engine remembers for all its sessions (`PerceptualMaps`): about 55 MB of
faces' 768-float maps, the judged evidence of about a hundred users at 60 answers (a map is
computed again, about 2.5 ms of CPU for a face, when its user comes back after it left)."""
_CHUNK = 256  # latents per perceptual pass
_INTERCEPT = 10.0  # the swipes' intercept column: large, so that the L2 penalty barely binds it
Pairs = tuple[np.ndarray, np.ndarray]
Fit = tuple[Any, np.ndarray, np.ndarray]  # the regression, the maps' centre, rated log-odds


class PerceptualMaps:
    """A bounded, thread-safe LRU of perceptual maps by latent, which many judges may share.

    A perceptual map depends on the latent alone, so one engine keeps one of these for all its
    sessions: memory is bounded per worker whatever the number of users, and the feed's pool
    items, rated by many users, are mapped once. Keys are 16-byte digests of the latents, not
    their 800 bytes.

    Args:
        size: maps remembered at most (least recently used go first); 0 remembers none.

    >>> import numpy as np
    >>> maps = PerceptualMaps(size=1)
    >>> a, b = latent_key(np.zeros(3)), latent_key(np.ones(3))
    >>> maps.keep([a], {a: np.zeros(2, dtype=np.float32)})
    >>> maps.keep([b], {b: np.ones(2, dtype=np.float32)})
    >>> list(maps.found([a, b])) == [b], len(maps)
    (True, 1)
    """

    def __init__(self, size: int = 4 * WINDOW) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInputError(f"size must be an int >= 0, got {size!r}")
        self.size = size
        self._maps: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._maps)

    def found(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """The maps remembered among `keys` (`latent_key`), without marking them used."""
        with self._lock:
            return {key: self._maps[key] for key in keys if key in self._maps}

    def keep(self, keys: list[bytes], maps: dict[bytes, np.ndarray]) -> None:
        """Remember `maps` (the map of each of `keys`) and mark `keys` used, the latest last."""
        with self._lock:
            for key in keys:
                self._maps[key] = maps[key]
                self._maps.move_to_end(key)
            while len(self._maps) > self.size:
                self._maps.popitem(last=False)


def latent_key(latent: np.ndarray) -> bytes:
    """A 16-byte key equal for equal latents (d,) (a digest of their float64 bytes)."""
    raw = np.ascontiguousarray(latent, dtype=np.float64).tobytes()
    return hashlib.blake2b(raw, digest_size=16).digest()


class ContentJudge:
    """Judges rated items by their perceptual maps, remembering the maps it has computed.

    Args:
        generator: has a `perceptual` map (`plgl.generators.has_perceptual`).
        strength: inverse L2 penalty of the logistic regression.
        window: only the latest `window` rated items are judged; earlier ones rank last.
        cache_size: perceptual maps remembered (least recently used go first) where `maps` is
            None: a session that asks again after one more rating computes one new map, not all
            of them.
        maps: the perceptual maps to read and remember, shared with other judges (an engine's);
            None keeps a private `PerceptualMaps(cache_size)`. A map depends on the latent
            alone, so sharing changes no judgement.
    """

    def __init__(
        self,
        generator: Any,
        strength: float = STRENGTH,
        window: int = WINDOW,
        cache_size: int = 4 * WINDOW,
        maps: PerceptualMaps | None = None,
    ) -> None:
        from plgl.generators import has_perceptual

        if not has_perceptual(generator):
            raise InvalidInputError(f"{generator.name} has no perceptual map to judge content by")
        if not (np.isfinite(strength) and strength > 0 and window >= 2 and cache_size >= 0):
            raise InvalidInputError("need strength > 0, window >= 2 and cache_size >= 0")
        if maps is not None and not isinstance(maps, PerceptualMaps):
            raise InvalidInputError(f"maps must be a PerceptualMaps or None, got {maps!r}")
        self.generator = generator
        self.strength = strength
        self.window = window
        self.cache_size = cache_size
        self.maps = maps if maps is not None else PerceptualMaps(cache_size)
        # A digest of the evidence of the last `_fit` (not the evidence: up to 600 KB), and it.
        self._last: tuple[bytes, Fit | None] | None = None
        self._lock = threading.Lock()

    def scores(
        self, rated: np.ndarray, labels: np.ndarray, pairs: Pairs | None = None
    ) -> np.ndarray:
        """(n,) log-odds of a like for each rated latent (n, d) by an L2 logistic regression of
        the labels (n,) (1 like, 0 dislike) and of the comparisons `pairs` on the items'
        perceptual maps; zeros (no opinion) until the user has both liked and disliked
        something in the window, or compared two items."""
        return self.compare(rated, labels, np.empty((0, self.generator.latent_dim)), pairs)[0]

    def compare(
        self,
        rated: np.ndarray,
        labels: np.ndarray,
        candidates: np.ndarray,
        pairs: Pairs | None = None,
        maps: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n,) log-odds of the rated latents (as `scores`) and (m,) of candidate latents
        (m, d) by the same regression: whether a new latent looks better than the favourite
        (zeros for both while the regression has no opinion).

        `pairs` (winners (p, d), losers (p, d)) are comparisons: a Bradley-Terry observation
        of the difference of the two items' features each (the same weights as the swipes,
        without their intercept), the latest `window` of them. `maps` (m, k) are the
        candidates' perceptual maps where the caller has them (`candidate_maps`)."""
        d = self.generator.latent_dim
        rated = np.asarray(rated, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.float64).reshape(-1)
        candidates = np.asarray(candidates, dtype=np.float64)
        if rated.ndim != 2 or len(rated) != len(labels) or rated.shape[1] != d:
            raise InvalidInputError(
                f"rated must be (n, {d}) with (n,) labels, got {rated.shape} and {labels.shape}"
            )
        if candidates.ndim != 2 or candidates.shape[1] != d:
            raise InvalidInputError(f"candidates must be (m, {d}), got {candidates.shape}")
        if maps is not None and (np.ndim(maps) != 2 or len(maps) != len(candidates)):
            raise InvalidInputError(
                f"maps must be (m, k) for {len(candidates)} candidates, got {np.shape(maps)}"
            )
        won, lost = _checked_pairs(pairs, d, self.window)
        first = max(0, len(rated) - self.window)
        fitted = self._fit(rated[first:], labels[first:], won, lost)
        if fitted is None:
            return np.zeros(len(rated)), np.zeros(len(candidates))
        judge, center, recent = fitted
        out = np.full(len(rated), float(recent.min(initial=0.0)) - 1.0)  # outside the window
        out[first:] = recent
        if not len(candidates):
            return out, np.zeros(0)
        # Candidates' maps are not cached: they are seen once, and would evict the rated ones.
        found = self._maps_of(candidates) if maps is None else np.asarray(maps, dtype=np.float64)
        spread = _with_spread(found - center)
        return out, judge.decision_function(
            np.hstack([spread, np.full((len(spread), 1), _INTERCEPT)])
        )

    def candidate_maps(self, candidates: np.ndarray) -> np.ndarray:
        """(m, k) float64 perceptual maps of candidate latents (m, d), read from the shared
        maps where they are there, else computed and not remembered (most candidates are
        looked at once); `remember` keeps those about to be shown."""
        candidates = np.asarray(candidates, dtype=np.float64)
        d = self.generator.latent_dim
        if candidates.ndim != 2 or candidates.shape[1] != d:
            raise InvalidInputError(f"candidates must be (m, {d}), got {candidates.shape}")
        return self._maps_of(candidates)

    def remember(self, latents: np.ndarray, maps: np.ndarray) -> None:
        """Keep the perceptual maps (m, k) of latents (m, d) (from `candidate_maps`) among the
        shared maps: candidates about to be shown, which the next fit needs once they are
        rated (mapping them again would cost a decode each)."""
        latents = np.asarray(latents, dtype=np.float64).reshape(-1, self.generator.latent_dim)
        maps = np.asarray(maps)
        if maps.ndim != 2 or len(maps) != len(latents):
            raise InvalidInputError(
                f"maps must be (m, k) for {len(latents)} latents, got {maps.shape}"
            )
        keys = [latent_key(row) for row in latents]
        # float32, as faces' and melodies' perceptual passes make them (they convert back
        # exactly): the same map as computing it again.
        self.maps.keep(keys, {k: m.astype(np.float32) for k, m in zip(keys, maps, strict=True)})

    def keep_decoded(self, latents: np.ndarray) -> None:
        """Keep among the shared maps those of latents (m, d) that the generator decoded lately
        (`RecentlyDecoded`), at no cost: content about to be shown, whose map the next fit
        needs once it is rated (mapped again later, a face would be decoded again: about
        1.5 ms; its recent decodes are gone by then in a busy worker)."""
        latents = np.asarray(latents, dtype=np.float64).reshape(-1, self.generator.latent_dim)
        if not isinstance(self.generator, RecentlyDecoded):
            return
        decoded = [decode_key(row) for row in latents]
        found = self.generator.decodes.maps(decoded)
        keys, maps = [], {}
        for row, made in zip(latents, decoded, strict=True):
            if made in found:
                keys.append(latent_key(row))
                maps[keys[-1]] = found[made]
        self.maps.keep(keys, maps)

    def _fit(
        self, rated: np.ndarray, labels: np.ndarray, won: np.ndarray, lost: np.ndarray
    ) -> Fit | None:
        """The regression on the window's ratings (n, d), labels (n,) and comparisons, the
        centre of their maps and the (n,) log-odds of the rated items; None without an opinion
        to learn. The last fit is remembered: a feed batch judges the same evidence several
        times (the champion, its challengers, its rivals)."""
        digest = hashlib.blake2b(digest_size=32)
        for part in (rated, labels, won, lost):  # the shapes too: equal bytes may differ in them
            digest.update(repr(part.shape).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        evidence = digest.digest()
        with self._lock:
            if self._last is not None and self._last[0] == evidence:
                return self._last[1]
        liked = labels > 0.5
        swipes = bool(liked.any() and not liked.all())
        fitted = None
        if swipes or len(won):
            n = len(rated)
            features = self._perceptual(np.vstack([rated, won, lost]))
            center = features.mean(axis=0)
            spread = _with_spread(features - center)
            swiped = np.hstack([spread[:n], np.full((n, 1), _INTERCEPT)])
            gap = spread[n : n + len(won)] - spread[n + len(won) :]
            gap = np.hstack([gap, np.zeros((len(gap), 1))])
            rows = np.vstack([swiped, gap, -gap]) if swipes else np.vstack([gap, -gap])
            answers = np.concatenate([liked, np.ones(len(gap)), np.zeros(len(gap))])
            answers = answers if swipes else answers[n:]
            judge = LogisticRegression(C=self.strength, max_iter=1000, fit_intercept=False)
            judge.fit(rows, answers.astype(int))
            recent = judge.decision_function(swiped) if n else np.zeros(0)
            fitted = (judge, center, recent)
        with self._lock:
            self._last = (evidence, fitted)
        return fitted

    def _maps_of(self, latents: np.ndarray) -> np.ndarray:
        """(n, m) float64 perceptual maps of latents (n, d): read from the cache where it has
        them (a rated item among the candidates), else computed and not cached."""
        keys = [latent_key(row) for row in latents]
        found = self.maps.found(keys)
        found.update(self._made(latents, keys, [i for i, k in enumerate(keys) if k not in found]))
        return np.array([found[key] for key in keys], dtype=np.float64)

    def _perceptual(self, latents: np.ndarray) -> np.ndarray:
        """(n, m) float64 perceptual maps of latents (n, d), from the cache where it has them."""
        keys = [latent_key(row) for row in latents]
        found = self.maps.found(keys)  # another judge may evict these before `keep`: kept here
        found.update(self._made(latents, keys, [i for i, k in enumerate(keys) if k not in found]))
        self.maps.keep(keys, found)
        return np.array([found[key] for key in keys], dtype=np.float64)

    def _made(self, latents: np.ndarray, keys: list[bytes], todo: list[int]) -> dict[bytes, Any]:
        """The maps of latents[todo] by key, computed in passes of `_CHUNK`, each a copy: a row
        of a pass's output would keep the whole pass alive in the cache."""
        made: dict[bytes, np.ndarray] = {}
        for first in range(0, len(todo), _CHUNK):
            rows = todo[first : first + _CHUNK]
            # The generator's judge features: its perceptual map unless it offers better ones.
            maps = np.asarray(self.generator.judge_features(latents[rows]), dtype=np.float32)
            if maps.ndim != 2 or len(maps) != len(rows) or not np.isfinite(maps).all():
                raise InvalidInputError(
                    f"{self.generator.name}.judge_features must give ({len(rows)}, f) finite "
                    f"values, got shape {maps.shape}"
                )
            for i, value in zip(rows, maps, strict=True):
                made[keys[i]] = value.copy()
        return made


def _checked_pairs(pairs: Pairs | None, d: int, window: int) -> Pairs:
    """The latest `window` comparisons (winners (p, d), losers (p, d)) as float64 arrays."""
    if pairs is None:
        return np.empty((0, d)), np.empty((0, d))
    won = np.asarray(pairs[0], dtype=np.float64).reshape(-1, d)
    lost = np.asarray(pairs[1], dtype=np.float64).reshape(-1, d)
    if won.shape != lost.shape:
        raise InvalidInputError(
            f"pairs need winners and losers alike, got {won.shape}, {lost.shape}"
        )
    return won[-window:], lost[-window:]


def _with_spread(centered: np.ndarray) -> np.ndarray:
    """(n, m + 1) centred perceptual maps (n, m) and their squared distance from the centre: a
    taste for one kind of face ("like the one I have in mind") is a distance, not a direction,
    and this one feature lets a linear judge express it (on simulated face swipers its favourite
    was better at 30, 60 and 100 swipes than without it)."""
    return np.hstack([centered, (centered**2).sum(axis=1, keepdims=True)])


def content_scores(
    generator: Any, rated: np.ndarray, labels: np.ndarray, strength: float = STRENGTH
) -> np.ndarray:
    """`ContentJudge(generator, strength).scores(rated, labels)`: (n,) log-odds of a like for
    each rated latent (n, d) judged by its perceptual map (a judge without memory; a session
    keeps a `ContentJudge`).

    Raises InvalidInputError when the generator has no perceptual map.
    """
    return ContentJudge(generator, strength).scores(rated, labels)
