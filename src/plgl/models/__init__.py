"""Preference models: scikit-learn classifiers of "liked" that also learn from comparisons."""

from plgl.models._base import BasePreferenceModel
from plgl.models.confidence import confidence, is_linear
from plgl.models.content import ContentPreference
from plgl.models.features import FeaturePreference
from plgl.models.kernel import KernelPreference
from plgl.models.linear import LinearPreference
from plgl.models.online import REFINE_BUDGET, OnlinePreferenceModel
from plgl.models.pairwise import PairwiseRankSVM
from plgl.models.priors import GaussianPrior

__all__ = [
    "REFINE_BUDGET",
    "BasePreferenceModel",
    "ContentPreference",
    "FeaturePreference",
    "GaussianPrior",
    "KernelPreference",
    "LinearPreference",
    "OnlinePreferenceModel",
    "PairwiseRankSVM",
    "confidence",
    "is_linear",
]
