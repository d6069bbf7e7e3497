"""Preference models: scikit-learn classifiers of "liked" that also learn from comparisons."""

from plgl.models._base import BasePreferenceModel
from plgl.models.confidence import confidence
from plgl.models.features import FeaturePreference
from plgl.models.kernel import KernelPreference
from plgl.models.linear import LinearPreference
from plgl.models.pairwise import PairwiseRankSVM

__all__ = [
    "BasePreferenceModel",
    "FeaturePreference",
    "KernelPreference",
    "LinearPreference",
    "PairwiseRankSVM",
    "confidence",
]
