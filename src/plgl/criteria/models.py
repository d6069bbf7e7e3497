"""Several tastes of one user: one preference model per named criterion ("energy", "calm").

Every criterion is learned from the events that name it, in the same append-only log as the
user's overall ratings; a criterion nobody rated has no model (it is absent, not guessed). Each
model starts from the template's prior and learns online, like the overall model.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError, UnknownCriterionError
from plgl.feedback import FeedbackPolicy
from plgl.models import BasePreferenceModel, LinearPreference, OnlinePreferenceModel
from plgl.records import Event, Feedback, compared_pairs

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}")


def check_name(kind: str, value: Any) -> str:
    """A criterion or context name: 1-40 letters, digits, spaces, '_', '.' or '-', starting with
    a letter or digit.

    >>> check_name("criterion", "energy")
    'energy'
    """
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInputError(
            f"{kind} must be 1-40 letters, digits, spaces, '_', '.' or '-' starting with a "
            f"letter or digit, got {value!r}"
        )
    return value


class CriteriaModels:
    """The models of one user's criteria, by name.

    Args:
        template: the preference model cloned (unfitted) for each criterion; it must learn
            online (`start`, `learn`, `learn_pair`).
        latent_dim: d, the generator's latent size.

    >>> criteria = CriteriaModels(LinearPreference(), latent_dim=2)
    >>> criteria.learn("energy", np.array([1.0, 0.0]), 1)
    >>> criteria.names, "calm" in criteria
    (['energy'], False)
    """

    def __init__(
        self,
        template: BasePreferenceModel,
        latent_dim: int,
    ) -> None:
        self.template = template
        self.latent_dim = latent_dim
        self._models: dict[str, BasePreferenceModel] = {}
        self._counts: dict[str, int] = {}

    def check(self, criterion: Any) -> str:
        """`criterion` if it is a valid name; InvalidInputError otherwise (which names the engine
        allows is the session's check, `Engine(criteria=)`)."""
        return check_name("criterion", criterion)

    # ------------------------------------------------------------------ learning
    def learn(self, criterion: str, latent: np.ndarray, label: float, weight: float = 1.0) -> None:
        """One rating of `latent` (d,) on `criterion` (label 1: more of it is liked)."""
        self._model_for(criterion).learn(latent, label, weight)

    def learn_pairs(self, criterion: str, pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """One comparison on `criterion`: each (preferred, other) pair of latents (d,), one
        pair or a choice's chosen item against each other one (counted as one rating)."""
        model = self._model_for(criterion)
        for preferred, other in pairs:
            model.learn_pair(preferred, other)

    def learn_event(
        self, event: Event, latents: Mapping[str, np.ndarray], policy: FeedbackPolicy
    ) -> bool:
        """Learn a stored event that names a criterion (latents by item id); False (nothing
        learned) for an event without one or whose items are unknown."""
        if event.criterion is None:
            return False
        if isinstance(event, Feedback):
            latent = latents.get(event.item_id)
            if latent is None:
                return False
            label, weight = policy.label(event.signal, event.dwell_seconds)
            self.learn(event.criterion, latent, label, weight)
            return True
        found = compared_pairs(event, latents)
        if found:
            self.learn_pairs(event.criterion, found)
        return bool(found)

    def refine(self) -> None:
        """Make every criterion's posterior exact again where affordable (see the model)."""
        for model in self._models.values():
            model.refine()

    # ------------------------------------------------------------------- reading
    @property
    def names(self) -> list[str]:
        """The criteria with at least one rating, sorted."""
        return sorted(self._models)

    def counts(self) -> dict[str, int]:
        """Ratings per criterion."""
        return {name: self._counts[name] for name in self.names}

    def model(self, criterion: Any) -> BasePreferenceModel:
        """The model of a rated criterion; UnknownCriterionError if it has no ratings yet."""
        name = self.check(criterion)
        if name not in self._models:
            rated = ", ".join(self.names) or "none yet"
            raise UnknownCriterionError(
                f"criterion {name!r} has no ratings for this user (rated: {rated}); criteria "
                "are learned from ratings that name them, never guessed"
            )
        return self._models[name]

    def __contains__(self, criterion: object) -> bool:
        return criterion in self._models

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self._models)

    # ----------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, np.ndarray]:
        """Every criterion's model state and count, keys prefixed "criterion/<name>/"."""
        state: dict[str, np.ndarray] = {}
        for name in self.names:
            state[f"criterion/{name}/count"] = np.array(self._counts[name])
            for key, value in self._models[name].get_state().items():
                state[f"criterion/{name}/{key}"] = value
        return state

    def set_state(self, state: Mapping[str, np.ndarray]) -> CriteriaModels:
        """Restore what `get_state` returned (keys without the prefix are ignored)."""
        grouped: dict[str, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            prefix, _, rest = key.partition("/")
            name, _, inner = rest.partition("/")
            if prefix == "criterion" and name and inner:
                grouped.setdefault(check_name("criterion", name), {})[inner] = value
        self._models, self._counts = {}, {}
        for name, inner_state in grouped.items():
            count = int(inner_state.pop("count"))
            self._models[name] = copy.deepcopy(self.template).set_state(inner_state)
            self._counts[name] = count
        return self

    def _model_for(self, criterion: str) -> BasePreferenceModel:
        if criterion not in self._models:
            self._models[criterion] = copy.deepcopy(self.template).start(self.latent_dim)
            self._counts[criterion] = 0
        self._counts[criterion] += 1
        return self._models[criterion]


def criterion_template(model: BasePreferenceModel) -> BasePreferenceModel:
    """The model each criterion learns with: `model` if it learns online, else the default
    LinearPreference (a batch model cannot learn rating by rating)."""
    if isinstance(model, OnlinePreferenceModel) and model.online:
        return model
    return LinearPreference()
