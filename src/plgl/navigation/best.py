"""The top of what a model predicts, within what a generator renders well: used to aim
candidates (samplers) and to recommend (the session).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plgl.generators import Generator
from plgl.models import is_linear
from plgl.navigation.reverse import reverse_gradient, reverse_linear, shell_top

_BELOW_TOP = 0.05  # recommendations aim this share of the top log-odds below it, to be diverse


def top_of_shell(
    model: Any, generator: Generator, rng: np.random.Generator
) -> tuple[np.ndarray | None, float]:
    """The best latent (d,) a linear model can reach on the generator's shell within its reach,
    and its log-odds; None (and the log-odds at the origin) before the model has a direction."""
    best = shell_top(model, math.sqrt(generator.latent_dim), generator.reach, rng)
    at = np.zeros(generator.latent_dim) if best is None else best
    return best, float(model.decision_function(at[None, :])[0])


def best_latents(model: Any, generator: Generator, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, d) diverse shell latents at the top of what `model` predicts; for a linear model the
    first is the very best reachable, the others just below it in other directions.

    >>> from plgl.generators import get
    >>> from plgl.models import LinearPreference
    >>> model = LinearPreference().fit(np.eye(4)[[0, 1]], [1, 0])
    >>> best_latents(model, get("identity", latent_dim=4), 3, np.random.default_rng(0)).shape
    (3, 4)
    """
    radius = math.sqrt(generator.latent_dim)
    if not is_linear(model):
        return reverse_gradient(model, None, generator.project(generator.sample(n, rng)), radius)
    best, top = top_of_shell(model, generator, rng)
    target = top - _BELOW_TOP * abs(top)
    latents = reverse_linear(model, target, n, radius, rng, reach=generator.reach)
    if best is not None:
        latents[0] = best
    return latents


def latents_at(
    model: Any, generator: Generator, target_logit: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """(n, d) diverse shell latents that `model` predicts at `target_logit`; a target beyond
    reach gives the nearest reachable latents."""
    radius = math.sqrt(generator.latent_dim)
    if is_linear(model):
        return reverse_linear(model, target_logit, n, radius, rng, reach=generator.reach)
    starts = generator.project(generator.sample(n, rng))
    return reverse_gradient(model, target_logit, starts, radius)
