"""Several tastes per user: one model per named criterion, navigation under constraints
between them, and context profiles whose tastes start from the user's overall taste."""

from plgl.criteria.models import CriteriaModels, check_name, criterion_template
from plgl.criteria.navigate import OVERALL, find_latents, front, goal_for

__all__ = [
    "OVERALL",
    "CriteriaModels",
    "check_name",
    "criterion_template",
    "find_latents",
    "front",
    "goal_for",
]
