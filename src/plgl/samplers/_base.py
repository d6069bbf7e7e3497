"""The sampler plug point: which latents to show next."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from plgl.generators import Generator
from plgl.samplers.pool import choose_pool_rows


class BaseSampler(ABC):
    """Proposes a batch of candidate latents, then picks the ones to show.

    `propose` only computes latents (cheap). The session mixes them with pool items
    (`plgl.samplers.next_candidates`, which asks `pool_rows` which ones), filters the mix for
    safety, and asks `select` for the n to show. Content is made for the chosen n only, except
    when the safety check must see the content of every candidate first.

    Attributes:
        explore: share of each batch spent exploring, in [0, 1] (the "adventurousness" knob).
        exploit_min_proba: exploit items are predicted liked at least this often.
    """

    explore: float = 0.3
    exploit_min_proba: float = 0.7

    @abstractmethod
    def propose(self, model: Any, generator: Generator, rng: np.random.Generator) -> np.ndarray:
        """(m, latent_dim) candidate latents for the current model."""

    @abstractmethod
    def select(
        self, model: Any, latents: np.ndarray, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        """Indices of min(n, m) distinct candidates (m, d) to show, in showing order, and why
        each is shown ("exploit" or "explore", about an `explore` share of the latter)."""

    def pool_rows(
        self,
        model: Any,
        latents: np.ndarray,
        allowed: np.ndarray,
        n: int,
        rng: np.random.Generator,
        first: np.ndarray | None = None,
    ) -> np.ndarray:
        """Up to n distinct rows of a pool to offer beside the proposals, judged as `select`
        judges candidates: an exploit share (1 - `explore`) made of `first` rows (the allowed
        ones, in order) and then likely likes (predicted liked at least `exploit_min_proba`
        often, the most informative first), and an `explore` share of the most informative of
        the rest.

        Args:
            model: the user's preference model.
            latents: (n_items, d) pool latents.
            allowed: (n_items,) bool, rows that may be shown.
            n: how many rows to return at most.
            rng: breaks ties (a model that knows nothing yet), so new users differ.
            first: (k,) int rows to put first (shared positives), best first.

        Returns:
            (<= n,) int row indices into `latents`, all allowed.
        """
        n_explore = round(self.explore * n)
        return choose_pool_rows(
            model,
            latents,
            n - n_explore,
            n_explore,
            allowed,
            rng,
            first=first,
            likely=self.exploit_min_proba,
        )

    def is_stale(self, ratings_since: int, ratings_total: int) -> bool:
        """Whether candidates made `ratings_since` ratings ago should be proposed afresh."""
        return ratings_since > 0
