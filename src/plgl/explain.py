"""The wording of `Session.explain`: what drives a taste, in the generator's words."""

from __future__ import annotations

from typing import Any

import numpy as np

from plgl.generators import Generator
from plgl.models import BasePreferenceModel, ContentPreference, FeaturePreference, LinearPreference
from plgl.navigation import is_linear

_TRAITS = 5  # traits listed
_SUMMARIZED = 3  # of which the summary names


def explanation(
    model: BasePreferenceModel,
    generator: Generator,
    user_id: str,
    ratings: int,
    best: np.ndarray,
) -> dict[str, Any]:
    """The explanation of `model`, learned from `ratings` events; `best` (1, d) is the best
    reachable latent, whose predicted like-probability is reported."""
    traits = [{"trait": t, "weight": round(w, 4)} for t, w in _named_weights(model, generator)]
    return {
        "user_id": user_id,
        "ratings": ratings,
        "traits": traits,
        "best_predicted_like": round(float(model.predict_proba(best)[0, 1]), 4),
        "changes_of_taste": _changes(model),
        "summary": summary(traits, ratings),
    }


def summary(traits: list[dict[str, Any]], ratings: int) -> str:
    """One sentence naming the strongest traits (or saying there are none yet)."""
    if not traits:
        return f"Not enough to go on yet ({ratings} ratings)."
    parts = [f"{'more' if t['weight'] > 0 else 'less'} {t['trait']}" for t in traits[:_SUMMARIZED]]
    return f"After {ratings} ratings, this taste leans towards " + ", ".join(parts) + "."


def _named_weights(model: BasePreferenceModel, generator: Generator) -> list[tuple[str, float]]:
    """The strongest (trait, weight) pairs: named content features for a taste over features,
    the generator's description of the taste direction for a model linear in latents."""
    if isinstance(model, FeaturePreference | ContentPreference):
        return model.feature_weights()[:_TRAITS]
    if is_linear(model):
        coef = np.asarray(model.coef_)
        norm = float(np.linalg.norm(coef))
        if norm > 0:
            return generator.describe(coef / norm)[:_TRAITS]
    return []


def _changes(model: BasePreferenceModel) -> int:
    """How many changes of taste the model detected (only the linear model detects them, also
    as the base of a model over content)."""
    base = getattr(model, "base_", None) if isinstance(model, ContentPreference) else model
    return int(base.changes_detected_) if isinstance(base, LinearPreference) else 0
