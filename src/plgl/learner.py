"""How a user's model learns from their events, online or in batch, behind one interface.

A model that learns rating by rating (`plgl.models.OnlinePreferenceModel`) is updated per event,
in O(d^2), and its state can be saved in a snapshot. Any other model is refit on everything
(the engine's negatives plus every rating) when a new event comes in; until it has seen a like
and a dislike, the linear prior answers for it.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plgl.criteria import CriteriaModels, criterion_template
from plgl.feedback import FeedbackPolicy
from plgl.models import BasePreferenceModel, LinearPreference, OnlinePreferenceModel


@dataclass(frozen=True)
class Recipe:
    """What a user's model is made from, besides their events (shared by every session)."""

    model: BasePreferenceModel  # the template, cloned per user
    feedback: FeedbackPolicy
    latent_dim: int
    negatives: np.ndarray  # (k, latent_dim) the engine's never-show latents, learned as dislikes


def learns_online(model: BasePreferenceModel) -> bool:
    """Whether `model` learns rating by rating (else it is refit on every event); a wrapper
    such as FeaturePreference says so for its base."""
    return isinstance(model, OnlinePreferenceModel) and model.online


class Learner(ABC):
    """One user's model and the number of events it has learned from.

    `add_label` / `add_pairs` take events in stored order; `settle` makes the model reflect all of
    them (a batch model refits there, once for any number of events). Ratings that name a
    criterion go to `criteria` instead; a learner of a `context` profile learns only that
    context's ratings (None: the default profile, which learns every rating).
    """

    model: BasePreferenceModel
    n_events: int
    exact: bool  # the model is exactly what replaying its events gives (nothing refined it)

    def __init__(self, recipe: Recipe, context: str | None = None) -> None:
        self.recipe = recipe
        self.context = context
        self.model = _prior_model(recipe)
        self.criteria = CriteriaModels(criterion_template(recipe.model), recipe.latent_dim)
        self.n_events = 0
        self.exact = True

    @abstractmethod
    def add_label(self, latent: np.ndarray, label: int, weight: float) -> None:
        """Learn one rated latent (d,) with its label and weight."""

    @abstractmethod
    def add_pairs(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Learn one comparison event: each (preferred, other) pair of latents (d,), one pair
        or, for a choice among several items, the chosen one against each other one."""

    def settle(self) -> None:  # noqa: B027 (online models are always settled)
        """Make the model reflect every event added so far."""

    def refine(self) -> None:  # noqa: B027 (only online models approximate)
        """Make an online model's approximate posterior exact, when affordable (before `ask`)."""

    @property
    def stateful(self) -> bool:
        """Whether the model's state can be saved and restored (snapshots)."""
        return False


class OnlineLearner(Learner):
    """Updates the model per event; its state is what a snapshot saves."""

    model: OnlinePreferenceModel

    def add_label(self, latent: np.ndarray, label: int, weight: float) -> None:
        self.n_events += 1
        self.model.learn(latent, label, weight)

    def add_pairs(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self.n_events += 1
        for preferred, other in pairs:
            self.model.learn_pair(preferred, other)

    def refine(self) -> None:
        if self.model.refine():
            self.exact = False

    @property
    def stateful(self) -> bool:
        # A context's prior comes from the other contexts' ratings: it is rebuilt, not saved.
        return self.context is None

    def get_state(self) -> dict[str, np.ndarray]:
        """The model's and the criteria's learned state as named arrays (a copy: later updates
        do not change it)."""
        state = {**self.model.get_state(), **self.criteria.get_state()}
        return {key: np.array(value) for key, value in state.items()}

    def set_state(self, state: dict[str, np.ndarray], n_events: int) -> None:
        """Continue from a saved state covering the first `n_events` events."""
        own = {k: v for k, v in state.items() if not k.startswith("criterion/")}
        self.model = copy.deepcopy(self.recipe.model).set_state(own)
        self.criteria.set_state(state)
        self.n_events = n_events
        self.exact = True


class BatchLearner(Learner):
    """Keeps every observation and refits the model on all of them."""

    def __init__(self, recipe: Recipe, context: str | None = None) -> None:
        super().__init__(recipe, context)
        self._labels: list[tuple[np.ndarray, int, float]] = []
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def add_label(self, latent: np.ndarray, label: int, weight: float) -> None:
        self.n_events += 1
        self._labels.append((latent, label, weight))

    def add_pairs(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self.n_events += 1
        self._pairs += pairs

    def settle(self) -> None:
        negatives = self.recipe.negatives
        X = [row for row, _, _ in self._labels] + list(negatives)
        y = [label for _, label, _ in self._labels] + [0] * len(negatives)
        w = [weight for _, _, weight in self._labels] + [1.0] * len(negatives)
        if len(set(y)) < 2:
            return  # a classifier needs both a like and a dislike; until then keep the prior
        pairs = None
        if self._pairs:
            pairs = (np.array([a for a, _ in self._pairs]), np.array([b for _, b in self._pairs]))
        self.model = copy.deepcopy(self.recipe.model).fit(np.array(X), y, w, pairs=pairs)


def new_learner(recipe: Recipe, context: str | None = None) -> Learner:
    """A fresh learner for `recipe`'s model: the prior, having learned the negatives."""
    if learns_online(recipe.model):
        return OnlineLearner(recipe, context)
    return BatchLearner(recipe, context)


def prior_model(recipe: Recipe, template: BasePreferenceModel) -> BasePreferenceModel:
    """`template` (an online model, e.g. with a context's prior) started for `recipe`'s latents,
    having learned the negatives."""
    return _prior_model(Recipe(template, recipe.feedback, recipe.latent_dim, recipe.negatives))


def _prior_model(recipe: Recipe) -> OnlinePreferenceModel:
    """A fresh model that has already learned the engine's negatives as dislikes.

    Batch models start as the linear prior until their first fit (they need a like and a dislike).
    """
    given = recipe.model
    online = given if isinstance(given, OnlinePreferenceModel) and given.online else None
    template = online if online is not None else LinearPreference()
    model = copy.deepcopy(template).start(recipe.latent_dim)
    negatives = recipe.negatives
    if len(negatives):
        model.partial_fit(negatives, np.zeros(len(negatives), dtype=int))
    return model
