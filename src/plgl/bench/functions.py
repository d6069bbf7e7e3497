"""Test functions of the peers' protocols, as utilities to maximize on the unit box [0, 1]^d.

Each `TestFunction` holds the noise-free utility (higher is better), where its maximum lies and
what it is, so regret and distance to the optimum are exact. The definitions follow the peers:

* qEUBO (Astudillo et al., 2023): Ackley-6 with x in [0, 1]^6 mapped to [-2, 2]^6; Hartmann-6 on
  [0, 1]^6; Alpine1 with x in [0, 1]^7 mapped to [-10, 10]^7. Utility = minus the classic value.
* Koyama et al. (sequential line / plane search): Rosenbrock of 4x (optimum at x = 1/4 * 1, cost 0;
  utility = minus the cost) and the isotropic Gaussian exp(-|x - 0.3 * 1|^2) (maximum 1).

>>> f = hartmann6()
>>> round(float(f.utility(f.optimizer[None, :])[0]), 4)
3.3224
>>> float(rosenbrock(5).regret(np.full((1, 5), 0.25))[0])
0.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Utility = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TestFunction:
    """A noise-free utility on [0, 1]^dim with a known maximum.

    Attributes:
        name: short name used in reports.
        dim: input dimension.
        utility: (n, dim) -> (n,), higher is better.
        optimizer: (dim,) a point where the maximum is reached.
        max_value: the maximum of `utility` on the box.
    """

    __test__ = False  # a library class whose name starts with "Test": not a pytest class

    name: str
    dim: int
    utility: Utility
    optimizer: np.ndarray
    max_value: float

    def regret(self, x: np.ndarray) -> np.ndarray:
        """(n,) max_value - utility(x) for x (n, dim); never below 0 (up to rounding)."""
        return np.asarray(self.max_value - self.utility(np.asarray(x, dtype=np.float64)))

    def distance(self, x: np.ndarray) -> np.ndarray:
        """(n,) Euclidean distance of each row of x (n, dim) to `optimizer`."""
        return np.asarray(np.linalg.norm(np.asarray(x) - self.optimizer, axis=1))


def _ackley_value(z: np.ndarray) -> np.ndarray:
    d = z.shape[1]
    root_mean_square = np.sqrt((z**2).sum(axis=1) / d)
    mean_cos = np.cos(2 * np.pi * z).sum(axis=1) / d
    return np.asarray(-20 * np.exp(-0.2 * root_mean_square) - np.exp(mean_cos) + 20 + np.e)


def ackley(dim: int = 6) -> TestFunction:
    """Ackley on [0, 1]^dim mapped to [-2, 2]^dim (qEUBO's setting); maximum 0 at x = 0.5."""
    return TestFunction(
        name=f"ackley{dim}",
        dim=dim,
        utility=lambda x: -_ackley_value(4.0 * x - 2.0),
        optimizer=np.full(dim, 0.5),
        max_value=0.0,
    )


_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
HARTMANN6_MIN = -3.32237
"""The classic minimum of Hartmann-6 (so the utility's maximum is 3.32237)."""


def _hartmann_utility(x: np.ndarray) -> np.ndarray:
    inner = (_HARTMANN_A[None, :, :] * (x[:, None, :] - _HARTMANN_P[None, :, :]) ** 2).sum(axis=2)
    return np.asarray(np.exp(-inner) @ _HARTMANN_ALPHA)


def hartmann6() -> TestFunction:
    """Hartmann-6 on [0, 1]^6, negated; maximum 3.32237."""
    return TestFunction(
        name="hartmann6",
        dim=6,
        utility=_hartmann_utility,
        optimizer=np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
        max_value=-HARTMANN6_MIN,
    )


def alpine1(dim: int = 7) -> TestFunction:
    """Alpine1 on [0, 1]^dim mapped to [-10, 10]^dim (qEUBO uses dim 7), negated; maximum 0."""

    def utility(x: np.ndarray) -> np.ndarray:
        z = 20.0 * x - 10.0
        return np.asarray(-np.abs(z * np.sin(z) + 0.1 * z).sum(axis=1))

    return TestFunction(
        name=f"alpine1_{dim}",
        dim=dim,
        utility=utility,
        optimizer=np.full(dim, 0.5),
        max_value=0.0,
    )


def rosenbrock_cost(x: np.ndarray) -> np.ndarray:
    """(n,) Koyama's cost: the classic Rosenbrock of 4x, 0 at x = 1/4 * 1 (x: (n, d))."""
    z = 4.0 * x
    return np.asarray((100.0 * (z[:, 1:] - z[:, :-1] ** 2) ** 2 + (1.0 - z[:, :-1]) ** 2).sum(1))


def rosenbrock(dim: int) -> TestFunction:
    """Minus Rosenbrock of 4x on [0, 1]^dim; maximum 0 at x = 1/4 * 1."""
    return TestFunction(
        name=f"rosenbrock{dim}",
        dim=dim,
        utility=lambda x: -rosenbrock_cost(x),
        optimizer=np.full(dim, 0.25),
        max_value=0.0,
    )


def gaussian(dim: int) -> TestFunction:
    """The isotropic Gaussian exp(-|x - 0.3 * 1|^2) on [0, 1]^dim; maximum 1 at x = 0.3 * 1."""
    return TestFunction(
        name=f"gaussian{dim}",
        dim=dim,
        utility=lambda x: np.exp(-((x - 0.3) ** 2).sum(axis=1)),
        optimizer=np.full(dim, 0.3),
        max_value=1.0,
    )


__all__ = [
    "HARTMANN6_MIN",
    "TestFunction",
    "ackley",
    "alpine1",
    "gaussian",
    "hartmann6",
    "rosenbrock",
    "rosenbrock_cost",
]
