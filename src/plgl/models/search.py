"""Gradient search for latents that a differentiable score puts at a wanted value.

Shared by navigation (`plgl.navigation.reverse_gradient`) and by models that search their own
way (`FeaturePreference.reverse_search`), so that models never import navigation.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import torch


class TorchScore(Protocol):
    """Anything with a differentiable score of latents: (n, d) -> (n,)."""

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor: ...


def gradient_search(
    score: TorchScore,
    target_logit: float | np.ndarray | None,
    starts: np.ndarray,
    radius: float,
    steps: int = 150,
    learning_rate: float = 0.05,
    shell_penalty: float = 10.0,
) -> np.ndarray:
    """(n, d) shell latents found by gradient search (torch Adam) from `starts` (n, d).

    Minimizes (f(z) - target)^2 with f the score (or maximizes f when the target is None), plus
    `shell_penalty` * (|z|/R - 1)^2; the results are then put exactly on the shell |z| = R.
    """
    z = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    target = None if target_logit is None else torch.as_tensor(target_logit, dtype=torch.float64)
    optimizer = torch.optim.Adam([z], lr=learning_rate * radius / math.sqrt(z.shape[1]))
    for _ in range(steps):
        optimizer.zero_grad()
        value = score.torch_decision(z)
        loss = -value if target is None else (value - target) ** 2
        off_shell = (z.norm(dim=1) / radius - 1.0) ** 2
        (loss + shell_penalty * off_shell).sum().backward()
        optimizer.step()
    found = z.detach().numpy()
    return np.asarray(found * (radius / np.linalg.norm(found, axis=1, keepdims=True)))


__all__ = ["TorchScore", "gradient_search"]
