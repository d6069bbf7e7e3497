"""Candidates from a pool and from the sampler: the session's one call for what to consider next.

`next_candidates(sampler, model, generator, cache, user_id, rng, *, safety, served, confidence)`
returns the latents (m, d) among which `sampler.select` picks what to show: the sampler's own
proposals, with part of them replaced by pregenerated pool items (whose content is already in
the cache). The cache supplies data only (the pool's latents, the rows the user was already
served, the shared positives and the share schedules); what to take from the pool is the
sampler's choice (`BaseSampler.pool_rows`), judged by its own thresholds.

For linear models the pool search scans the whole pool by inner product (a maximum-inner-product
search) and judges its top rows plus a random sample of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.models import OnlinePreferenceModel, is_linear
from plgl.models.laplace import moderate, sigmoid
from plgl.records import Item
from plgl.safety import Safety

if TYPE_CHECKING:
    from plgl.cache import ContentCache
    from plgl.samplers._base import BaseSampler

# Rows judged per call (a variance costs d^2 each): as many as about 2e7 flops allow (all of a
# 20000-item pool at d = 16, 2000 at d = 100), at least 500; the rest are skipped at random.
_JUDGE_FLOPS, _JUDGE_MIN = 2e7, 500
# Share of the fresh proposals a group's rows may replace: each one shown from them saves a
# generator call; up to half left the top-1 utility within noise, all of them lowered it at 30
# ratings (`benchmarks/cluster_cache.py`).
GROUP_SHARE = 0.5


def next_candidates(
    sampler: BaseSampler,
    model: Any,
    generator: Generator,
    cache: ContentCache | None,
    user_id: str,
    rng: np.random.Generator,
    *,
    safety: Safety,
    served: Callable[[], Sequence[Item]],
    confidence: float,
) -> np.ndarray:
    """Latents (m, d) of a user's next candidates: pool items and fresh proposals, shuffled.

    The sampler proposes m latents. A share `cache.fresh_share(confidence)` of them is kept
    (content made only if shown); the other slots go to pool rows the user was never served
    that lie outside the marked balls of `safety`: shared positives first (a share
    `cache.shared_fraction(confidence)`, for new users), then what `sampler.pool_rows` picks.
    For a user in a taste group with a pool (`cache.group_rows`), up to m of the group's
    unserved, safe rows that `sampler.pool_rows` picks are added, and as many fresh proposals
    as there are such rows, at most a share `GROUP_SHARE` of them, are left out: made for the
    group's members, they are shown instead of fresh proposals where `select` judges them as
    good.
    Without a cache or a pool the proposals come back untouched. A content predicate of
    `safety` is not applied here: the caller checks every returned candidate's content.

    Args:
        sampler: proposes latents and chooses pool rows.
        model: the user's preference model.
        generator: the generator the latents are for.
        cache: the engine's content cache (its pool), or None for proposals only.
        user_id: whose candidates these are.
        rng: the user's random stream.
        safety: the never-show region.
        served: returns every item the user was shown (called only when the pool is used).
        confidence: how well the model knows the user, in [0, 1].

    Returns:
        (m + k - j, d) candidate latents, m = the number the sampler proposed, k <= m rows of
        the user's group pool, j <= `GROUP_SHARE` x the fresh proposals, proposals left out.
    """
    proposals = np.asarray(sampler.propose(model, generator, rng))
    if proposals.ndim != 2 or not len(proposals) or proposals.shape[1] != generator.latent_dim:
        raise InvalidInputError(
            f"{type(sampler).__name__}.propose returned shape {proposals.shape}; expected "
            f"(m >= 1, {generator.latent_dim}) latents"
        )
    if cache is None:
        return proposals
    latents = cache.pool_latents()
    if not len(latents):
        return proposals  # no pool: the sampler's candidates, untouched
    m = len(proposals)
    n_pool = min(m - round(cache.fresh_share(confidence) * m), len(latents))
    group = cache.group_rows(user_id)
    group = group[group < len(latents)]
    rows = extra = np.empty(0, dtype=int)
    if n_pool > 0 or len(group):
        allowed = ~safety.unsafe_latents_mask(latents)
        done = cache.served_rows(user_id, served())
        allowed[done[done < len(latents)]] = False  # rows added since `latents` was read
    if n_pool > 0:
        n_shared = round(cache.shared_fraction(confidence) * n_pool)
        shared = cache.shared_rows(user_id)
        shared = shared[shared < len(latents)]
        if len(shared) and n_shared:
            shared = shared[np.argsort(-model.decision_function(latents[shared]))]
        picked = sampler.pool_rows(model, latents, allowed, n_pool, rng, first=shared[:n_shared])
        rows = _checked_rows(sampler, picked, allowed, n_pool)
    n_fresh = m - len(rows)
    if len(group):
        # Made for the user's taste group: up to m more candidates, judged as the sampler
        # judges the pool. They compete with the fresh proposals in `select`, and take the
        # place of some: a proposal made for this user alone would otherwise win almost
        # every pick, and each one shown costs a generator call.
        mine = np.zeros(len(latents), dtype=bool)
        mine[group] = True
        mine &= allowed
        mine[rows] = False
        picked = sampler.pool_rows(model, latents, mine, m, rng)
        extra = _checked_rows(sampler, picked, mine, m)
        n_fresh -= min(len(extra), int(GROUP_SHARE * n_fresh))
    fresh = np.sort(rng.choice(m, n_fresh, replace=False))
    mixed = np.vstack([latents[rows], latents[extra], proposals[fresh]])
    return mixed[rng.permutation(len(mixed))]  # no source wins a tie by its position


def _checked_rows(sampler: BaseSampler, picked: Any, allowed: np.ndarray, n: int) -> np.ndarray:
    """A sampler's pool rows as an int array; they must be at most n distinct allowed rows: a
    served, unsafe or repeated item would otherwise reach the user."""
    rows: np.ndarray = np.asarray(picked)
    if rows.shape == (0,):
        return np.empty(0, dtype=int)
    ok = rows.ndim == 1 and len(rows) <= n and np.issubdtype(rows.dtype, np.integer)
    ok = ok and len(np.unique(rows)) == len(rows)
    if not (ok and ((rows >= 0) & (rows < len(allowed))).all() and allowed[rows].all()):
        raise InvalidInputError(
            f"{type(sampler).__name__}.pool_rows must return at most {n} distinct allowed rows "
            f"of a pool of {len(allowed)}, got {rows!r}"
        )
    return rows


def choose_pool_rows(
    model: Any,
    latents: np.ndarray,
    n_exploit: int,
    n_explore: int,
    allowed: np.ndarray,
    rng: np.random.Generator,
    first: np.ndarray | None = None,
    likely: float = 0.7,
) -> np.ndarray:
    """Row indices of `latents` (n_items, d): `first` (allowed) rows, then exploit rows, then
    explore rows, each row at most once.

    Rows are judged as a sampler judges its own candidates, so that pool items compete with
    fresh ones on equal terms: exploit rows are predicted liked with probability at least
    `likely` (the likeliest when too few are), the most informative first; explore rows are the
    most informative of the rest.

    Args:
        model: the user's preference model.
        latents: (n_items, d) pool latents.
        n_exploit: rows to exploit, `first` rows included.
        n_explore: rows to explore.
        allowed: (n_items,) bool, rows that may be served.
        rng: shuffles the rows, so ties are broken at random.
        first: rows to put ahead of the exploit search (shared positives), best first.
        likely: the predicted like probability an exploit row reaches.
    """
    allowed = allowed.copy()
    picked: list[int] = []
    if first is not None:
        picked = [int(i) for i in first if allowed[i]][:n_exploit]
        allowed[picked] = False
    # Ties (a model that knows nothing yet) are broken at random, so new users differ.
    rows = rng.permutation(np.flatnonzero(allowed))
    d = latents.shape[1]
    judged = max(_JUDGE_MIN, int(_JUDGE_FLOPS / (d + 1) ** 2))
    if is_linear(model) and np.shape(model.coef_) == (d,):
        scores = (latents @ np.asarray(model.coef_))[rows]  # no copy of the pool
        k = min(4 * n_exploit, len(rows))
        top = np.zeros(len(rows), dtype=bool)
        top[np.argpartition(-scores, k - 1)[:k] if k else []] = True
        # The top rows by inner product, and a random sample of the others (rows are shuffled).
        rows = np.concatenate([rows[top], rows[~top][:judged]])
    else:
        rows = rows[:judged]
    if not len(rows):  # every row served or unsafe: nothing to judge
        return np.array(picked, dtype=int)
    proba, information = _judge(model, latents[rows])
    need = max(n_exploit - len(picked), 0)
    order = np.lexsort((-information, proba < likely))  # likely first, informative first
    if (proba >= likely).sum() < need:
        order = np.argsort(-proba, kind="stable")
    exploit = order[:need]
    rest = np.ones(len(rows), dtype=bool)
    rest[exploit] = False
    rest_rows = np.flatnonzero(rest)
    explore = rest_rows[np.argsort(-information[rest], kind="stable")[:n_explore]]
    return np.concatenate([np.array(picked, dtype=int), rows[exploit], rows[explore]])


def _judge(model: Any, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) predicted like probability of latents (n, d), and (n,) what a rating would teach:
    p(1 - p) x the variance of the log-odds where the model has a weight covariance (as the
    sampler's information gain), else p(1 - p)."""
    linear = isinstance(model, OnlinePreferenceModel) and is_linear(model)
    if not linear or model.weight_covariance() is None:
        proba = np.asarray(model.predict_proba(latents)[:, 1])
        return proba, proba * (1.0 - proba)
    # The variance once: a linear model's probability is its mean log-odds moderated by it.
    variance = model.uncertainty(latents)
    mean = latents @ np.asarray(model.coef_) + float(model.intercept_)
    proba = np.asarray(sigmoid(moderate(mean, variance)))
    return proba, np.asarray(proba * (1.0 - proba) * variance)
