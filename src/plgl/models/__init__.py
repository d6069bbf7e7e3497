"""Preference models: scikit-learn classifiers of "liked" that also learn from comparisons."""

from plgl.models._base import BasePreferenceModel
from plgl.models.linear import LinearPreference

__all__ = ["BasePreferenceModel", "LinearPreference"]
