"""What earlier users taught, for the next one: a population prior over taste weights (empirical
Bayes), taste clusters and private matching, all released with user-level differential privacy
through OpenDP (see docs/privacy.md). `plgl.Engine(population=...)` binds one to an engine
(`plgl.population.service`).

The names load on first use, so that `plgl population --help` loads no numerical library.
"""

import typing as _typing

from plgl._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from plgl.population.population import Population
    from plgl.population.records import Cluster, Match, PopulationSummary, PriorKind, UserTaste
    from plgl.population.refresh import Tastes

__all__ = [
    "Cluster",
    "Match",
    "Population",
    "PopulationSummary",
    "PriorKind",
    "Tastes",
    "UserTaste",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "Cluster": "plgl.population.records:Cluster",
        "Match": "plgl.population.records:Match",
        "Population": "plgl.population.population:Population",
        "PopulationSummary": "plgl.population.records:PopulationSummary",
        "PriorKind": "plgl.population.records:PriorKind",
        "Tastes": "plgl.population.refresh:Tastes",
        "UserTaste": "plgl.population.records:UserTaste",
    },
    __all__,
)
