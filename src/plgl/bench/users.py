"""Simulated users: a noise-free utility over latents plus a noise model for their answers.

Like BoTorch's test functions, `utility` is the truth and the answers are noisy draws from it.
The utility is standardized under the prior (s = (u - mean) / std over prior samples clipped to the
ball |z| <= sqrt(d)); a user likes an item with probability sigmoid((s - threshold) / noise) and
prefers a over b with probability sigmoid((s_a - s_b) / noise).
`normalized(z)` is the benchmark's metric: 0 for a random prior sample, 1 for the best point of the
ball |z| <= sqrt(d). A noise of 0 answers deterministically (the better item, a like above the
threshold).

The kinds (`make_user(kind, d, seed)`): linear, a single ideal point, several ideal points, picky
(few likes), a taste change midway, and the label-noise presets of `NOISE` from nearly clean to
very noisy. `PairwiseResponder` answers comparisons (Bradley-Terry, optionally with flipped
answers).

>>> user = make_user("picky", 8, seed=0)
>>> bool(user.like_probability(np.zeros((1, 8)))[0] < 0.01)
True
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from plgl.errors import InvalidInputError

NOISE = {"nearly clean": 0.05, "default": 0.25, "noisy": 1.0, "very noisy": 2.0}
"""Presets of the answer-noise temperature (the latent suite uses "default", 0.25)."""


def clip_to_ball(latents: np.ndarray) -> np.ndarray:
    """(n, d) latents moved radially inside |z| <= sqrt(d)."""
    radius = np.sqrt(latents.shape[1])
    norms = np.linalg.norm(latents, axis=1, keepdims=True)
    return np.asarray(latents * np.minimum(1.0, radius / np.maximum(norms, 1e-12)))


class SimulatedUser(ABC):
    """A hidden taste over a latent space of dimension `d`.

    Args:
        d: latent dimension.
        seed: draws the hidden taste and the prior statistics.
        noise: temperature of the logistic answer noise (0.25 is the benchmark default).
        threshold: standardized utility at which a like is a coin flip (0.5: ~30% of random
            items are liked).
    """

    def __init__(self, d: int, seed: int, noise: float = 0.25, threshold: float = 0.5) -> None:
        if not isinstance(d, int) or isinstance(d, bool) or d < 1:
            raise InvalidInputError(f"d must be an integer >= 1, got {d!r}")
        if not np.isfinite(noise) or noise < 0:
            raise InvalidInputError(f"noise must be a finite number >= 0, got {noise!r}")
        if not np.isfinite(threshold):
            raise InvalidInputError(f"threshold must be a finite number, got {threshold!r}")
        self.d = d
        self.noise = noise
        self.threshold = threshold
        self._init_taste(np.random.default_rng(10_000 + seed))
        prior = clip_to_ball(np.random.default_rng(30_000 + seed).standard_normal((50_000, d)))
        values = self.utility(prior)
        self.prior_mean = float(values.mean())
        self.prior_std = float(values.std())

    @abstractmethod
    def _init_taste(self, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def utility(self, latents: np.ndarray) -> np.ndarray:
        """(n,) noise-free utility of latents (n, d) (already inside the ball)."""

    @property
    @abstractmethod
    def best_utility(self) -> float:
        """The largest utility inside the ball |z| <= sqrt(d)."""

    def standardized(self, latents: np.ndarray) -> np.ndarray:
        return (self.utility(clip_to_ball(latents)) - self.prior_mean) / self.prior_std

    def like_probability(self, latents: np.ndarray) -> np.ndarray:
        """(n,) probability that each latent (n, d) gets a like."""
        return _sigmoid(self.standardized(latents) - self.threshold, self.noise)

    def likes(self, latents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) bool noisy like/dislike answers."""
        return np.asarray(rng.random(len(latents)) < self.like_probability(latents))

    def prefers(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) bool: whether each row of a (n, d) is preferred over the row of b."""
        gap = self.standardized(a) - self.standardized(b)
        return np.asarray(rng.random(len(a)) < _sigmoid(gap, self.noise))

    def chooses(self, latents: np.ndarray, rng: np.random.Generator) -> int:
        """Index of the row of latents (k, d) chosen as the best of them: Luce's choice model
        with the answers' temperature (the Gumbel-max draw), so that for two rows it is the law
        of `prefers`; the best row at noise 0."""
        values = self.standardized(latents)
        if self.noise == 0:
            return int(np.argmax(values))
        return int(np.argmax(values / self.noise + rng.gumbel(size=len(values))))

    def normalized(self, latents: np.ndarray) -> np.ndarray:
        """(n,) normalized utility: 0 = a random prior sample, 1 = the best point of the ball."""
        u = self.utility(clip_to_ball(latents))
        return np.asarray((u - self.prior_mean) / (self.best_utility - self.prior_mean))


def _sigmoid(x: np.ndarray, temperature: float) -> np.ndarray:
    """sigmoid(x / temperature); the step function (0.5 at 0) when the temperature is 0."""
    if temperature == 0:
        return np.asarray(0.5 * (1 + np.sign(x)))
    return np.asarray(0.5 * (1 + np.tanh(0.5 * x / temperature)))


class LinearUser(SimulatedUser):
    """Likes one direction: u = <w, z> / |w|."""

    def _init_taste(self, rng: np.random.Generator) -> None:
        w = rng.standard_normal(self.d)
        self.direction = w / np.linalg.norm(w)

    def utility(self, latents: np.ndarray) -> np.ndarray:
        return np.asarray(latents @ self.direction)

    @property
    def best_utility(self) -> float:
        return float(np.sqrt(self.d))


class IdealPointUser(SimulatedUser):
    """Likes what is near one ideal latent on the shell: u = exp(-|z - z*|^2 / d)."""

    n_ideals = 1

    def _init_taste(self, rng: np.random.Generator) -> None:
        ideals = rng.standard_normal((self.n_ideals, self.d))
        self.ideals = ideals * (np.sqrt(self.d) / np.linalg.norm(ideals, axis=1, keepdims=True))

    def utility(self, latents: np.ndarray) -> np.ndarray:
        sq = ((latents[:, None, :] - self.ideals[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(np.exp(-sq / self.d).max(axis=1))

    @property
    def best_utility(self) -> float:
        return 1.0


class MultiIdealUser(IdealPointUser):
    """Several unrelated ideals (a multimodal taste): u = max of `n_ideals` bumps (default 2)."""

    def __init__(self, d: int, seed: int, n_ideals: int = 2, **kwargs: float) -> None:
        if not isinstance(n_ideals, int) or n_ideals < 1:
            raise InvalidInputError(f"n_ideals must be an integer >= 1, got {n_ideals!r}")
        self.n_ideals = n_ideals
        super().__init__(d, seed, **kwargs)


class PickyUser(LinearUser):
    """A linear taste that likes few items: threshold 1.5 (about 7% of random items liked)."""

    def __init__(self, d: int, seed: int, noise: float = 0.25, threshold: float = 1.5) -> None:
        super().__init__(d, seed, noise=noise, threshold=threshold)


class DriftingUser(SimulatedUser):
    """A linear taste that turns to a new, unrelated direction after `switch_after` answers."""

    def __init__(self, d: int, seed: int, switch_after: int = 80, **kwargs: float) -> None:
        self.switch_after = switch_after
        self.answers = 0
        super().__init__(d, seed, **kwargs)

    def _init_taste(self, rng: np.random.Generator) -> None:
        w = rng.standard_normal((2, self.d))
        w[1] -= (w[1] @ w[0]) / (w[0] @ w[0]) * w[0]  # the new taste shares nothing with the old
        self.directions = w / np.linalg.norm(w, axis=1, keepdims=True)

    @property
    def direction(self) -> np.ndarray:
        return np.asarray(self.directions[int(self.answers >= self.switch_after)])

    def utility(self, latents: np.ndarray) -> np.ndarray:
        return np.asarray(latents @ self.direction)

    def likes(self, latents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        answers = np.empty(len(latents), dtype=bool)
        for i, latent in enumerate(latents):  # the switch may fall inside a batch
            answers[i] = super().likes(latent[None, :], rng)[0]
            self.answers += 1
        return answers

    @property
    def best_utility(self) -> float:
        return float(np.sqrt(self.d))


class PairwiseResponder:
    """Answers "a or b?" for a simulated user: Bradley-Terry on its standardized utility, and then
    each answer flipped with probability `flip` (PrefGen's "20% flipped answers").

    >>> responder = PairwiseResponder(LinearUser(4, seed=0, noise=0.0))
    >>> a = responder.user.direction[None, :]
    >>> responder.prefers(a, -a, np.random.default_rng(0)).tolist()
    [True]
    """

    def __init__(self, user: SimulatedUser, flip: float = 0.0) -> None:
        if not 0.0 <= flip <= 0.5:
            raise InvalidInputError(f"flip must be in [0, 0.5], got {flip!r}")
        self.user = user
        self.flip = flip

    def prefers(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) bool: whether each row of a (n, d) is preferred over the row of b (n, d)."""
        if a.shape != b.shape or a.ndim != 2 or a.shape[1] != self.user.d:
            raise InvalidInputError(
                f"a and b must both be (n, {self.user.d}); got {a.shape} and {b.shape}"
            )
        answers = self.user.prefers(a, b, rng)
        return np.asarray(answers ^ (rng.random(len(a)) < self.flip))


USER_KINDS = ("linear", "ideal", "multi", "picky", "noisy", "drift")
"""The kinds `make_user` builds."""


def make_user(kind: str, d: int, seed: int, *, horizon: int = 160) -> SimulatedUser:
    """A benchmark user: "linear", "ideal", "multi" (two ideals), "picky", "noisy" (noise 1.0)
    or "drift" (the taste turns to an unrelated direction after `horizon // 2` answers)."""
    if kind == "linear":
        return LinearUser(d, seed)
    if kind == "ideal":
        return IdealPointUser(d, seed)
    if kind == "multi":
        return MultiIdealUser(d, seed)
    if kind == "picky":
        return PickyUser(d, seed)
    if kind == "noisy":
        return LinearUser(d, seed, noise=NOISE["noisy"])
    if kind == "drift":
        return DriftingUser(d, seed, switch_after=horizon // 2)
    raise InvalidInputError(f"unknown user kind {kind!r}; expected one of {', '.join(USER_KINDS)}")
