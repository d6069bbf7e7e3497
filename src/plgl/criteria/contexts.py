"""Context profiles: a user's taste per context ("workout", "evening"), each starting from what
the user's other ratings say.

A two-level (hierarchical) model: each context's taste is w_c = w_0 + delta_c with a shared
taste w_0 and a context offset delta_c ~ N(0, widen * P), P the model's own prior covariance
(Gelman et al. 2013, ch. 5). Approximately, w_c's prior is the posterior of the user's ratings in
all other contexts (which the default profile, the user's overall taste, also holds) with `widen`
times P added to its covariance: a context that shares most of its taste with the others learns
fast, and one that differs overrides that prior with its own ratings. How much a context
shares is learned per user: `widen` is chosen among `WIDENS` (and "nothing shared", the plain
prior) by the prequential log-likelihood of the context's own ratings (each predicted before it
is learned; Dawid 1984), an empirical-Bayes choice of the offset's variance. A context with no
other ratings around starts from the plain prior. A context model with a shared prior does not
take disagreement with that prior for a change of taste (the model's change detector is off):
that disagreement is what the context is for. Ratings that name a criterion belong to that
criterion's model, not to a context's taste.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from plgl.feedback import FeedbackPolicy
from plgl.models import BasePreferenceModel, GaussianPrior, LinearPreference, OnlinePreferenceModel
from plgl.records import Event, Feedback, compared_pairs

WIDENS = (0.1, 0.3, 1.0, 3.0)
"""Shares of the prior covariance tried as the context offset's variance."""
WIDEN = 1.0
"""The share used before a context has ratings of its own to choose by."""

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
    widen: float | None = None,
) -> BasePreferenceModel:
    """The model `context` starts from, before its own ratings: `start(template)` with the
    prior the user's ratings in other contexts give (the plain prior without any), widened by
    `widen` (None: chosen by the context's own ratings, see the module)."""
    others = [e for e in events if e.criterion is None and e.context != context]
    shared = start(copy.deepcopy(template))
    fresh = start(copy.deepcopy(template))
    if not isinstance(template, LinearPreference) or not learn_events(
        shared, others, latents, policy
    ):
        return fresh  # nothing to share, or a model that takes no full prior
    own = [e for e in events if e.criterion is None and e.context == context]
    candidates: list[BasePreferenceModel] = [fresh]  # "nothing shared" competes too
    for share in WIDENS if widen is None else (widen,):
        prior = context_prior(shared, fresh, share)
        if prior is not None:
            candidates.append(start(_with_prior(template, prior)))
    if widen is not None or not own:
        return candidates[-1] if widen is not None else candidates[1 + WIDENS.index(WIDEN)]
    scores = [_prequential(copy.deepcopy(c), own, latents, policy) for c in candidates]
    return candidates[int(np.argmax(scores))]


def _prequential(
    model: BasePreferenceModel,
    events: Sequence[Event],
    latents: Mapping[str, np.ndarray],
    policy: FeedbackPolicy,
) -> float:
    """Sum of log p(rating | the ratings before it) over `events`' ratings, weighted."""
    total = 0.0
    for event in events:
        latent = latents.get(event.item_id) if isinstance(event, Feedback) else None
        if isinstance(event, Feedback) and latent is not None:
            label, weight = policy.label(event.signal, event.dwell_seconds)
            p = float(model.predict_proba(latent[None, :])[0, 1])
            total += weight * float(np.log(max(p if label else 1.0 - p, 1e-12)))
        learn_events(model, [event], latents, policy)
    return total


def context_model(
    template: BasePreferenceModel,
    latent_dim: int,
    context: str,
    events: Sequence[Event],
    latents: Mapping[str, np.ndarray],
    policy: FeedbackPolicy,
    widen: float | None = None,
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
            found = compared_pairs(event, latents)
            if not found:
                continue
            for a, b in found:
                model.learn_pair(a, b)
        learned += 1
    return learned


def _with_prior(template: LinearPreference, prior: GaussianPrior) -> LinearPreference:
    model = copy.deepcopy(template)
    model.set_params(prior=prior, change_threshold=None)
    return model


def better_context(
    events: Sequence[Event],
    context: str | None,
    latents_of: Callable[[list[Event]], Mapping[str, np.ndarray]],
    policy: FeedbackPolicy,
    model_before: Callable[[str | None, int], BasePreferenceModel],
    recent: int = 10,
    margin: float = 0.3,
) -> str | None:
    """Another context whose taste fits `context`'s last `recent` ratings better by more than
    `margin` nats per rating (on average), or None. Each profile is judged by
    `model_before(name, position)`: its model from the first `position` events, before any of
    the judged ratings (so none has learned them); `latents_of(events)` maps their item ids to
    latents."""
    mine = [i for i, e in enumerate(events) if e.criterion is None and e.context == context]
    mine = mine[-recent:]
    if not mine:
        return None
    judged = [events[i] for i in mine]
    latents = latents_of(judged)
    others = {e.context for e in events[: mine[0]] if e.context not in (None, context)}
    fits = {name: fit_of(model_before(name, mine[0]), judged, latents, policy) for name in others}
    here = fit_of(model_before(context, mine[0]), judged, latents, policy)
    best = max(sorted(str(n) for n in fits), key=lambda n: fits[n], default=None)
    return best if best is not None and fits[best] > here + margin else None


def fit_of(
    model: BasePreferenceModel,
    events: Sequence[Event],
    latents: Mapping[str, np.ndarray],
    policy: FeedbackPolicy,
) -> float:
    """Weighted mean log-likelihood per rating of `events`' ratings under `model` (as it is,
    nothing learned); -inf without any rating of a known item."""
    total, weights = 0.0, 0.0
    for event in events:
        latent = latents.get(event.item_id) if isinstance(event, Feedback) else None
        if isinstance(event, Feedback) and latent is not None:
            label, weight = policy.label(event.signal, event.dwell_seconds)
            p = float(model.predict_proba(latent[None, :])[0, 1])
            total += weight * float(np.log(max(p if label else 1.0 - p, 1e-12)))
            weights += weight
    return total / weights if weights else float("-inf")
