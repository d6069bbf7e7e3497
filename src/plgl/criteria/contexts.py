"""Context profiles: a user's taste per context ("workout", "evening"), each starting from what
the user's other ratings say.

A two-level (hierarchical) model: each context's taste is w_c = w_0 + delta_c with a shared
taste w_0 and a context offset delta_c ~ N(0, widen * P), P the model's own prior covariance
(Gelman et al. 2013, ch. 5). Approximately, w_c's prior is the posterior of the user's ratings in
all other contexts (which the default profile, the user's overall taste, also holds) with `widen`
times P added to its covariance: a context that shares most of its taste with the others learns
fast, and one that differs overrides that prior with its own ratings. A context with no other
ratings around starts from the plain prior. Ratings that name a criterion belong to that
criterion's model, not to a context's taste.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from plgl.feedback import FeedbackPolicy
from plgl.models import GaussianPrior, LinearPreference, OnlinePreferenceModel
from plgl.models._base import BasePreferenceModel
from plgl.records import Event, Feedback

WIDEN = 1.0
"""Default share of the prior covariance added to the shared posterior (the context offset's
variance); `plgl bench --suite criteria` measures 0.5 and 1."""

Start = Callable[[BasePreferenceModel], BasePreferenceModel]
"""Turns an unfitted model into a started one (the engine's hook: start and learn negatives)."""


def context_prior(
    shared: BasePreferenceModel, fresh: BasePreferenceModel, widen: float = WIDEN
) -> GaussianPrior | None:
    """N(shared mean, shared covariance + widen * fresh covariance) over the taste weights, or
    None when the models are not linear in the latents (no covariance to widen)."""
    if not isinstance(shared, OnlinePreferenceModel) or not isinstance(
        fresh, OnlinePreferenceModel
    ):
        return None
    covariance = shared.weight_covariance()
    base = fresh.weight_covariance()
    if covariance is None or base is None:
        return None
    return GaussianPrior(
        mean=np.asarray(shared.coef_, dtype=np.float64), covariance=covariance + widen * base
    )


def context_start(
    template: BasePreferenceModel,
    context: str,
    events: Sequence[Event],
    latents: Mapping[str, np.ndarray],
    policy: FeedbackPolicy,
    start: Start,
    widen: float = WIDEN,
) -> BasePreferenceModel:
    """The model `context` starts from, before its own ratings: `start(template)` with the
    prior the user's ratings in other contexts give (the plain prior without any)."""
    others = [e for e in events if e.criterion is None and e.context != context]
    shared = start(copy.deepcopy(template))
    if not learn_events(shared, others, latents, policy):
        return shared
    fresh = start(copy.deepcopy(template))
    prior = context_prior(shared, fresh, widen)
    if prior is None or not isinstance(template, LinearPreference):
        return fresh  # only a linear model takes a full prior: the context starts afresh
    return start(_with_prior(template, prior))


def context_model(
    template: BasePreferenceModel,
    latent_dim: int,
    context: str,
    events: Sequence[Event],
    latents: Mapping[str, np.ndarray],
    policy: FeedbackPolicy,
    widen: float = WIDEN,
) -> tuple[BasePreferenceModel, int]:
    """The taste of `context` from a user's events (latents by item id): (model, how many of
    its own events it learned)."""

    def start(model: BasePreferenceModel) -> BasePreferenceModel:
        started: BasePreferenceModel = model.start(latent_dim)
        return started

    model = context_start(template, context, events, latents, policy, start, widen)
    own = [e for e in events if e.criterion is None and e.context == context]
    return model, learn_events(model, own, latents, policy)


def learn_events(
    model: BasePreferenceModel,
    events: Sequence[Event],
    latents: Mapping[str, np.ndarray],
    policy: FeedbackPolicy,
) -> int:
    """Teach an online `model` the events whose items are known; returns how many it learned."""
    learned = 0
    for event in events:
        if isinstance(event, Feedback):
            latent = latents.get(event.item_id)
            if latent is None:
                continue
            label, weight = policy.label(event.signal, event.dwell_seconds)
            model.learn(latent, label, weight)
        else:
            a, b = latents.get(event.preferred_id), latents.get(event.other_id)
            if a is None or b is None:
                continue
            model.learn_pair(a, b)
        learned += 1
    return learned


def _with_prior(template: LinearPreference, prior: GaussianPrior) -> LinearPreference:
    model = copy.deepcopy(template)
    model.set_params(prior=prior)
    return model
