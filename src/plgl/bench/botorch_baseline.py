"""BoTorch's preferential BO as a baseline: PairwiseGP + EUBO on pairwise comparisons.

Preferential BO in the style of Chu & Ghahramani (2005) and Lin et al. (2022), with BoTorch
(Balandat et al. 2020): `PairwiseGP` (BoTorch's default kernel, probit likelihood) fitted with
`fit_gpytorch_mll` on the Laplace marginal likelihood; `AnalyticExpectedUtilityOfBestOption` (EUBO,
q = 2) optimised with `optimize_acqf` over the box [-1, 1]^d through a wrapper that normalises each
point onto the unit sphere (10 restarts, 256 raw samples). A round asks the user the 10 restart
solutions as 10 comparisons and refits the GP once. The first round compares 10 random pairs of
prior samples. One comparison counts as one rating. The GP sees latents divided by sqrt(d) (the
shell |z| = sqrt(d) becomes the unit sphere). The recommendations are the restart maxima of the
posterior mean on the shell, best first.

Needs the optional `bench` extra (`pip install 'plgl[bench]'`); imported lazily.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plgl.bench.loop import LearningCurve
from plgl.bench.users import SimulatedUser

RESTARTS = 10
RAW_SAMPLES = 256


@dataclass
class PairwiseCurve(LearningCurve):
    """A learning curve of a pairwise method plus the wall and CPU seconds of each round's query
    optimisation, GP refit and recommendation (the random first round has none). `liked_share`
    stays empty: a comparison is not a like."""

    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)


def require_botorch() -> None:
    """Raise ImportError naming the extra when botorch is not installed."""
    try:
        with warnings.catch_warnings():
            # gpytorch's import uses torch.jit.script, which torch 2.13 deprecates: not ours to fix
            warnings.simplefilter("ignore", DeprecationWarning)
            import botorch  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "BoTorch is not installed; install the benchmark extra: pip install 'plgl[bench]'"
        ) from error


def run_pairwise_gp(
    user: SimulatedUser,
    n_comparisons: int,
    batch: int = 10,
    seed: int = 0,
    top_k: int = 10,
) -> PairwiseCurve:
    """Let `user` answer `n_comparisons` comparisons chosen by PairwiseGP + EUBO.

    Answers come from `default_rng(20_000 + seed)` like every other method; the method's own
    randomness from `default_rng(1000 * seed + 7)` and `torch.manual_seed(1000 * seed + 7)`.
    After each round the top-`top_k` recommendations are scored with `user.normalized`.
    """
    require_botorch()
    import torch

    torch.manual_seed(1000 * seed + 7)
    rng = np.random.default_rng(1000 * seed + 7)
    answers_rng = np.random.default_rng(20_000 + seed)
    scale = np.sqrt(user.d)
    points: list[np.ndarray] = []  # (d,) latents, each shown once
    pairs: list[tuple[int, int]] = []  # (winner, loser) indices into points
    curve = PairwiseCurve()
    model: Any = None
    while len(pairs) < n_comparisons:
        size = min(batch, n_comparisons - len(pairs))
        started, cpu = time.perf_counter(), time.process_time()
        if model is None:
            shown = rng.standard_normal((size, 2, user.d))
        else:
            shown = _next_pairs(model, user.d, size) * scale
        a, b = shown[:, 0], shown[:, 1]
        first_wins = user.prefers(a, b, answers_rng)
        for left, right, win in zip(a, b, first_wins, strict=True):
            points.extend([left, right])
            i, j = len(points) - 2, len(points) - 1
            pairs.append((i, j) if win else (j, i))
        model = _fit(np.array(points) / scale, np.array(pairs))
        top = _posterior_maxima(model, user.d)[:top_k] * scale
        if len(pairs) > size:  # the random first round has no acquisition to time
            curve.seconds.append(time.perf_counter() - started)
            curve.cpu_seconds.append(time.process_time() - cpu)
        values = user.normalized(top)
        curve.ratings.append(len(pairs))
        curve.best.append(float(values[0]))
        curve.top_mean.append(float(np.mean(values)))
    return curve


def _fit(inputs: np.ndarray, comparisons: np.ndarray) -> Any:
    """PairwiseGP on inputs (n, d) and comparisons (m, 2) [winner, loser], MLL fitted."""
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models.pairwise_gp import PairwiseGP, PairwiseLaplaceMarginalLogLikelihood

    model = PairwiseGP(
        torch.tensor(inputs, dtype=torch.float64), torch.tensor(comparisons, dtype=torch.long)
    )
    fit_gpytorch_mll(PairwiseLaplaceMarginalLogLikelihood(model.likelihood, model))
    return model


def _next_pairs(model: Any, d: int, n: int) -> np.ndarray:
    """(n, 2, d) unit-sphere pairs: the EUBO restart solutions, best first."""
    from botorch.acquisition.preference import AnalyticExpectedUtilityOfBestOption

    return _optimize(AnalyticExpectedUtilityOfBestOption(pref_model=model), d, q=2)[:n]


def _posterior_maxima(model: Any, d: int) -> np.ndarray:
    """(RESTARTS, d) unit-sphere maxima of the posterior mean, highest mean first."""
    from botorch.acquisition.analytic import PosteriorMean

    return _optimize(PosteriorMean(model), d, q=1)[:, 0]


def _optimize(acquisition: Any, d: int, q: int) -> np.ndarray:
    """(RESTARTS, q, d) restart solutions on the unit sphere, best acquisition value first."""
    import torch
    from botorch.acquisition.acquisition import AcquisitionFunction
    from botorch.optim.optimize import optimize_acqf

    class OnSphere(AcquisitionFunction):
        """The wrapped acquisition evaluated at x / |x|: a box search over the sphere."""

        def __init__(self, inner: Any) -> None:
            super().__init__(model=inner.model)
            self.inner = inner

        def forward(self, X: torch.Tensor) -> torch.Tensor:
            value: torch.Tensor = self.inner(X / X.norm(dim=-1, keepdim=True).clamp_min(1e-9))
            return value

    bounds = torch.stack([-torch.ones(d), torch.ones(d)]).to(torch.float64)
    candidates, values = optimize_acqf(
        OnSphere(acquisition),
        bounds=bounds,
        q=q,
        num_restarts=RESTARTS,
        raw_samples=RAW_SAMPLES,
        return_best_only=False,
    )
    assert values is not None  # return_best_only=False gives one value per restart
    order = torch.argsort(values.reshape(-1), descending=True)
    best = candidates[order]
    return np.asarray((best / best.norm(dim=-1, keepdim=True).clamp_min(1e-9)).detach().numpy())
