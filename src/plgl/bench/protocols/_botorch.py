"""The BoTorch baseline of the preferential protocols: PairwiseGP + qEUBO.

BoTorch is an optional dependency (the `bench` extra), imported only when this baseline runs;
without it `BotorchQEUBO()` raises ImportError, which the suites report as a skip.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

_RESTARTS = 4
_RAW_SAMPLES = 256


def _botorch() -> SimpleNamespace:
    """The BoTorch pieces this baseline uses (importing them warns about torch.jit on new torch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from botorch.acquisition.analytic import PosteriorMean
        from botorch.acquisition.preference import qExpectedUtilityOfBestOption
        from botorch.fit import fit_gpytorch_mll
        from botorch.models.pairwise_gp import PairwiseGP, PairwiseLaplaceMarginalLogLikelihood
        from botorch.optim.optimize import optimize_acqf
    return SimpleNamespace(
        PosteriorMean=PosteriorMean,
        qEUBO=qExpectedUtilityOfBestOption,
        fit=fit_gpytorch_mll,
        PairwiseGP=PairwiseGP,
        LaplaceMLL=PairwiseLaplaceMarginalLogLikelihood,
        optimize_acqf=optimize_acqf,
    )


class BotorchQEUBO:
    """PairwiseGP (probit likelihood, ARD RBF kernel, Laplace marginal likelihood refitted after
    every answer) with qEUBO queries, on [0, 1]^dim. Smaller optimiser budgets than the paper
    (4 restarts, 256 raw samples) keep it affordable on a CPU."""

    def __init__(self, dim: int, seed: int) -> None:
        self.lib = _botorch()
        self.dim = dim
        self.seed = seed
        self.points = torch.empty((0, dim), dtype=torch.float64)
        self.comparisons = torch.empty((0, 2), dtype=torch.long)
        self.model: Any = None
        self.bounds = torch.stack(
            [torch.zeros(dim, dtype=torch.float64), torch.ones(dim, dtype=torch.float64)]
        )

    def learn(self, winners: np.ndarray, losers: np.ndarray) -> None:
        """Add comparisons winners[i] over losers[i] (both (m, dim)) and refit the GP."""
        new = torch.as_tensor(np.vstack([winners, losers]), dtype=torch.float64)
        n, m = len(self.points), len(winners)
        self.points = torch.cat([self.points, new])
        pairs = torch.stack([torch.arange(n, n + m), torch.arange(n + m, n + 2 * m)], dim=1)
        self.comparisons = torch.cat([self.comparisons, pairs])
        torch.manual_seed(self.seed + len(self.comparisons))
        self.model = self.lib.PairwiseGP(self.points, self.comparisons)
        with warnings.catch_warnings():
            # The Laplace fit warns when it stops at its iteration limit; the fit is still used,
            # as BoTorch's own tutorials do.
            warnings.simplefilter("ignore")
            self.lib.fit(self.lib.LaplaceMLL(self.model.likelihood, self.model))

    def recommend(self, rng: np.random.Generator) -> np.ndarray:
        """(dim,) the maximiser of the posterior mean."""
        torch.manual_seed(int(rng.integers(2**31)))
        x = self._optimize(self.lib.PosteriorMean(self.model), q=1)
        return np.asarray(x[0].detach().numpy())

    def query(self, best: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The qEUBO-optimal pair of points (`best` is unused: qEUBO searches the whole box)."""
        torch.manual_seed(int(rng.integers(2**31)))
        pair = self._optimize(self.lib.qEUBO(pref_model=self.model), q=2).detach().numpy()
        return np.asarray(pair[0]), np.asarray(pair[1])

    def _optimize(self, acquisition: Any, q: int) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optimiser restarts warn on slow convergence
            candidates, _ = self.lib.optimize_acqf(
                acq_function=acquisition,
                bounds=self.bounds,
                q=q,
                num_restarts=_RESTARTS,
                raw_samples=_RAW_SAMPLES,
            )
        result: torch.Tensor = candidates
        return result
