"""A mixture prior over tastes, and the linear model that learns which component a user is in.

A population of users often falls into a few taste clusters: a new user is likely near one of
them, but which one is unknown at first. `MixturePrior` holds one Gaussian per cluster plus a
broad one (for a user unlike any cluster), with prior probabilities. `MixturePreference` keeps
one Laplace posterior per component (each a `LinearPreference` started from that component's
Gaussian) and the posterior probability of each component: its prior probability times the
marginal likelihood of the user's answers under it. Online, that marginal likelihood is the
product of each answer's predictive probability before it was learned (the assumed-density
filter's evidence; Opper 1998); a batch `fit` uses the Laplace approximation of the evidence
(MacKay 1992). The model's posterior (what asking, recommending and reversing read) is either
the mixture's, moment-matched into one Gaussian, or the most probable component's, so it
switches from component to component as evidence comes in.

This is the hierarchical Bayesian preference model of Birlutiu, Groot & Heskes (2013) with a
mixture in place of its single population Gaussian; PAL (Chen et al., ICLR 2025) likewise shares
a few preference prototypes across a population so that a new user is placed among them from
a few answers; and hierarchical Thompson sampling (Hong et al. 2022, hierTS) learns a new task
under a prior estimated from earlier ones, whose posterior over that prior the evidence drives
as here. Each answer costs a `LinearPreference` update per component: O(components * d^2).
A change of taste is not detected with a mixture (see `MixturePreference`). References:
docs/references.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.models.laplace import moderate, sigmoid, symmetric
from plgl.models.linear import LinearPreference
from plgl.models.online import REFINE_BUDGET
from plgl.models.priors import GaussianPrior

Switch = Literal["moment", "map"]
_NEGLIGIBLE = 1e-6  # components less probable than this are left out of the moment match
REFINE_EVERY = 10  # answers between the components' exact refits (a batch of the feed)


@dataclass(frozen=True, eq=False)
class MixturePrior:
    """sum_k weights[k] N(components[k].mean, components[k].covariance) over d taste weights.

    Args:
        components: K >= 1 Gaussian priors over the same d weights (by convention the broad,
            population-wide one first).
        weights: (K,) prior probabilities (positive; normalised here).

    >>> prior = MixturePrior((GaussianPrior.isotropic(2, 1.0), GaussianPrior.isotropic(2, 0.1)),
    ...                      np.array([1.0, 3.0]))
    >>> prior.weights.tolist(), prior.dim
    ([0.25, 0.75], 2)
    """

    components: tuple[GaussianPrior, ...]
    weights: np.ndarray

    def __post_init__(self) -> None:
        components = tuple(self.components)
        if not components or not all(isinstance(c, GaussianPrior) for c in components):
            raise InvalidInputError("a mixture prior needs one or more GaussianPrior components")
        dims = {c.dim for c in components}
        if len(dims) != 1:
            raise InvalidInputError(f"mixture components must share one dimension, got {dims}")
        weights = np.array(self.weights, dtype=np.float64)
        if weights.shape != (len(components),):
            raise InvalidInputError(
                f"weights must be ({len(components)},), one per component; got {weights.shape}"
            )
        if not (np.all(np.isfinite(weights)) and np.all(weights > 0)):
            raise InvalidInputError("mixture weights must be finite and > 0")
        weights = weights / weights.sum()
        weights.setflags(write=False)
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "weights", weights)

    @property
    def dim(self) -> int:
        """d, the number of taste weights."""
        return self.components[0].dim

    def moment_matched(self) -> GaussianPrior:
        """The single Gaussian with the mixture's mean and covariance."""
        means = np.array([c.mean for c in self.components])
        covs = np.array([c.covariance for c in self.components])
        mean, cov = _moments(self.weights, means, covs)
        return GaussianPrior(mean, cov)


class MixturePreference(LinearPreference):
    """`LinearPreference` over a `MixturePrior`: one Laplace posterior per component, and the
    probability that the user belongs to each (see the module docstring).

    Args:
        mixture: the prior (None: the single Gaussian `prior`, i.e. `LinearPreference`).
        switch: "moment": the model's posterior is the mixture's, moment-matched; "map": the
            most probable component's.
        Others: as `LinearPreference` (every component uses them), except that with a
            mixture no component detects changes of taste (`change_threshold` applies to a
            single `prior` only); give `prior` or `mixture`, not both.

    Attributes:
        components_: the component models, in the mixture's order.
        log_evidence_: (K,) log marginal likelihood of the answers under each component.
        responsibilities_: (K,) posterior probability of each component.

    >>> near = GaussianPrior(np.array([2.0, 0.0]), 0.1 * np.eye(2))
    >>> far = GaussianPrior(np.array([-2.0, 0.0]), 0.1 * np.eye(2))
    >>> model = MixturePreference(mixture=MixturePrior((near, far), np.ones(2))).start(2)
    >>> for _ in range(5):  # likes to the right, dislikes to the left: the "near" taste
    ...     model.learn(np.array([1.0, 0.0]), 1.0); model.learn(np.array([-1.0, 0.0]), 0.0)
    >>> bool(model.responsibilities_[0] > 0.99)
    True
    """

    def __init__(
        self,
        prior_scale: float | None = None,
        intercept_scale: float = 2.0,
        drift: float = 0.002,
        change_threshold: float | None = 0.25,
        change_discount: float = 0.05,
        prior: GaussianPrior | None = None,
        lapse: float | None = 0.0,
        mixture: MixturePrior | None = None,
        switch: Switch = "moment",
    ) -> None:
        super().__init__(
            prior_scale, intercept_scale, drift, change_threshold, change_discount, prior, lapse
        )
        self.mixture = mixture
        self.switch = switch

    # ---------------------------------------------------------------- learning
    def refine(self, budget: float | None = REFINE_BUDGET) -> bool:
        """Nothing to do: the components refine themselves every `REFINE_EVERY` answers (at
        fixed answer counts: the evidence depends on the posteriors each answer met, so a live
        model and a replay of its answers must refine at the same points). Returns False."""
        check_is_fitted(self, "mean_")
        return False

    def _observe(self, phi: np.ndarray, label: float, weight: float) -> None:
        self.n_updates_ += 1
        due = self.n_updates_ % REFINE_EVERY == 0
        for k, component in enumerate(self.components_):
            self.log_evidence_[k] += weight * _log_predictive(component, phi, label)
            component._observe(phi, label, weight)
            if due:
                component.refine()
        self._combine()

    def _fit(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> None:
        self._reset(X.shape[1])
        for k, component in enumerate(self.components_):
            component._fit(X, y01, weights, preferred, other)
            lapse = component.monitor_.lapse
            prior_logdet = float(np.linalg.slogdet(component._prior_covariance)[1])
            self.log_evidence_[k] = component._log_evidence(lapse) - 0.5 * prior_logdet
        self.n_updates_ = self.components_[0].n_updates_
        self._combine()

    # --------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, np.ndarray]:
        """Every component's state (keys "c<k>/..."), the evidence and counters."""
        check_is_fitted(self, "mean_")
        state = {
            "scalar:n_features_in_": np.array(self.n_features_in_),
            "array:classes_": np.array(self.classes_),
            "scalar:n_updates_": np.array(self.n_updates_),
            "array:log_evidence_": np.array(self.log_evidence_),
        }
        for k, component in enumerate(self.components_):
            state.update({f"c{k}/{key}": v for key, v in component.get_state().items()})
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> MixturePreference:
        """Restore what `get_state` returned (this model's mixture and parameters are kept)."""
        try:
            d = int(state["scalar:n_features_in_"])
            classes = np.array(state["array:classes_"])
            n_updates = int(state["scalar:n_updates_"])
            evidence = np.array(state["array:log_evidence_"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInputError(f"mixture state is malformed: {error}") from error
        self._reset(d)
        if evidence.shape != (len(self.components_),) or not np.all(np.isfinite(evidence)):
            raise InvalidInputError(
                f"mixture state has evidence of shape {evidence.shape}; this model has "
                f"{len(self.components_)} components"
            )
        own = {"scalar:n_features_in_", "array:classes_", "scalar:n_updates_"}
        prefixes = tuple(f"c{k}/" for k in range(len(self.components_)))
        unknown = [key for key in state if key not in own | {"array:log_evidence_"}]
        unknown = [key for key in unknown if not key.startswith(prefixes)]
        if unknown:
            raise InvalidInputError(f"state keys {unknown} do not name a learned attribute")
        for k, component in enumerate(self.components_):
            prefix = f"c{k}/"
            component.set_state(
                {key[len(prefix) :]: v for key, v in state.items() if key.startswith(prefix)}
            )
        self.n_features_in_, self.classes_, self.n_updates_ = d, classes, n_updates
        self.log_evidence_ = evidence
        self._combine()
        return self

    # ---------------------------------------------------------------- internals
    def _mixture(self) -> MixturePrior:
        """The mixture, checked against the other parameters."""
        if self.prior is not None:
            raise InvalidInputError("give MixturePreference a prior or a mixture, not both")
        if not isinstance(self.mixture, MixturePrior):
            raise InvalidInputError(
                f"mixture must be a MixturePrior, got {type(self.mixture).__name__}"
            )
        return self.mixture

    def _set_prior(self, d: int) -> None:
        """The model's own prior fields: the mixture's moment-matched Gaussian."""
        if self.mixture is None:
            super()._set_prior(d)
            return
        mixture = self._mixture()
        if mixture.dim != d:
            raise InvalidInputError(
                f"the mixture is over {mixture.dim} weights but the latents have {d} dimensions"
            )
        matched = mixture.moment_matched()
        cov = np.zeros((d + 1, d + 1))
        cov[:d, :d] = matched.covariance
        cov[d, d] = self.intercept_scale**2
        self._prior_mean = np.append(matched.mean, 0.0)
        self._prior_covariance = cov
        self._prior_precision = symmetric(np.linalg.inv(cov))

    def _reset(self, d: int) -> None:
        if self.switch not in ("moment", "map"):
            raise InvalidInputError(f"switch must be 'moment' or 'map', got {self.switch!r}")
        super()._reset(d)
        params = self.get_params()
        for name in ("mixture", "switch", "prior"):
            params.pop(name)
        if self.mixture is None:
            self.components_ = [LinearPreference(**params, prior=self.prior).start(d)]
            self._log_prior = np.zeros(1)
        else:
            mixture = self._mixture()
            # No component detects changes of taste: a surprise is evidence against a
            # component, and reopening (and discounting) its past would hide it.
            params["change_threshold"] = None
            self.components_ = [
                LinearPreference(**params, prior=c).start(d) for c in mixture.components
            ]
            self._log_prior = np.log(mixture.weights)
        self.log_evidence_ = np.zeros(len(self.components_))
        self._combine()

    def _combine(self) -> None:
        """The model's posterior from the components' and their responsibilities."""
        logits = self._log_prior + self.log_evidence_
        weights = np.exp(logits - logits.max())
        self.responsibilities_ = weights / weights.sum()
        best = self.components_[int(np.argmax(self.responsibilities_))]
        self.monitor_ = best.monitor_
        self.changes_detected_, self.change_steps_ = best.changes_detected_, best.change_steps_
        used = np.flatnonzero(self.responsibilities_ > _NEGLIGIBLE)
        if self.switch == "map" or len(used) == 1:
            self.mean_, self.covariance_ = best.mean_.copy(), best.covariance_.copy()
            return
        means = np.array([self.components_[k].mean_ for k in used])
        covs = np.array([self.components_[k].covariance_ for k in used])
        share = self.responsibilities_[used] / self.responsibilities_[used].sum()
        self.mean_, self.covariance_ = _moments(share, means, covs)


def _log_predictive(model: LinearPreference, phi: np.ndarray, label: float) -> float:
    """log p(label | answers so far) under `model`'s posterior, for features phi (d + 1,): the
    moderated (probit-approximated) predictive, with the model's lapse."""
    # Its update first ages the covariance (forgetting): the answer meets the aged posterior.
    variance = float(phi @ model.covariance_ @ phi) * 2.0**model.drift
    liked = float(sigmoid(moderate(float(phi @ model.mean_), variance)))
    lapse = model.monitor_.lapse
    p = 0.5 * lapse + (1.0 - lapse) * liked
    return math.log(max(p if label >= 0.5 else 1.0 - p, 1e-300))


def _moments(
    weights: np.ndarray, means: np.ndarray, covs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean (k,) and covariance (k, k) of sum_j weights[j] N(means[j], covs[j])."""
    mean = weights @ means
    offsets = means - mean
    cov = np.einsum("j,jab->ab", weights, covs) + (offsets.T * weights) @ offsets
    return mean, symmetric(cov)


__all__ = ["MixturePreference", "MixturePrior"]
