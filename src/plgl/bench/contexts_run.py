"""The context-profile runs of the `criteria` suite: a user with two contexts rates 20 items
in one, then 20 in the other, alternating; after every batch of 10, recommendation #1 for the
context just rated is scored with that context's true taste (normalized utility).

Methods: "plgl contexts" (each context's model starts from the other context's ratings, widened,
`plgl.criteria.contexts.context_model`, rebuilt at every switch as a session is), "plgl contexts
widen 0.5" (half the added variance), "independent" (a plain model per context) and "merged"
(one model for every rating, as if contexts did not exist).
"""

from __future__ import annotations

import math

import numpy as np

import plgl
from plgl.bench.multi_users import MultiTasteUser, directions
from plgl.bench.suites._base import Row, Task
from plgl.criteria.contexts import context_model
from plgl.feedback import FeedbackPolicy
from plgl.models import BasePreferenceModel
from plgl.navigation import shell_top
from plgl.records import Event, Feedback
from plgl.samplers import MixtureSampler

_BLOCK = 20  # ratings in one context before switching
_D = 16


def run_contexts(task: Task) -> list[Row]:
    """Rows "top1" by ratings given in the context, for both contexts, up to `each` each."""
    seed = int(task.seed or 0)
    tastes = directions(_D, [float(task.params["cosine"])], np.random.default_rng(10_000 + seed))
    user = MultiTasteUser({"A": tastes[0], "B": tastes[1]}, seed)
    generator = plgl.generators.get("identity", latent_dim=_D)
    sampler = MixtureSampler()
    policy = FeedbackPolicy()
    ask_rng = np.random.default_rng(1000 * seed + 7)
    answer_rng = np.random.default_rng(20_000 + seed)
    events: list[Event] = []
    latents: dict[str, np.ndarray] = {}
    given = {"A": 0, "B": 0}
    models: dict[str, BasePreferenceModel] = {}
    rows: list[Row] = []
    radius = math.sqrt(_D)
    while min(given.values()) < int(task.params["each"]):
        context = "A" if len(events) // _BLOCK % 2 == 0 else "B"
        model = _model_for(task.method, context, events, latents, policy, models)
        for _ in range(_BLOCK // 10):
            candidates = sampler.propose(model, generator, ask_rng)
            picks, _ = sampler.select(model, candidates, 10, ask_rng)
            shown = candidates[picks]
            for latent, liked in zip(shown, user.likes(context, shown, answer_rng), strict=True):
                item_id = f"i{len(latents)}"
                latents[item_id] = latent
                signal = "like" if liked else "dislike"
                events.append(Feedback(f"e{len(events)}", item_id, signal, context=context))
                model.learn(latent, int(liked))
            given[context] += 10
            top = shell_top(model, radius, generator.reach, ask_rng)
            value = 0.0 if top is None else float(user.normalized(context, top[None, :])[0])
            rows.append(task.row(given[context], "top1", value, context=context))
    return rows


def _model_for(
    method: str,
    context: str,
    events: list[Event],
    latents: dict[str, np.ndarray],
    policy: FeedbackPolicy,
    models: dict[str, BasePreferenceModel],
) -> BasePreferenceModel:
    """The model that learns `context`'s next ratings under `method`."""
    template = plgl.models.LinearPreference()
    if method == "merged":
        return models.setdefault("all", template.start(_D))
    if method == "independent":
        return models.setdefault(context, template.start(_D))
    widen = 1.0 if method.endswith("widen 1") else None
    return context_model(template, _D, context, events, latents, policy, widen)[0]
