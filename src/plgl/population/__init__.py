"""What earlier users taught, for the next one: a population prior over taste weights (empirical
Bayes), taste clusters and private matching, all released with user-level differential privacy
through OpenDP (see docs/privacy.md).
"""

from plgl.population.population import Population, Tastes
from plgl.population.records import Cluster, Match, PopulationSummary, PriorKind, UserTaste

__all__ = [
    "Cluster",
    "Match",
    "Population",
    "PopulationSummary",
    "PriorKind",
    "Tastes",
    "UserTaste",
]
