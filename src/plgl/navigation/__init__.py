"""Navigation: find latents for a wanted score, on the region the generator renders well."""

from plgl.models import is_linear  # re-exported: closed-form navigation applies to these
from plgl.navigation.anchors import ContentJudge, content_scores
from plgl.navigation.diverse import farthest_points
from plgl.navigation.grounded import grounded_best, improvement_bound, trust_radius
from plgl.navigation.reverse import logit, reverse_gradient, reverse_linear, shell_top

__all__ = [
    "ContentJudge",
    "content_scores",
    "farthest_points",
    "grounded_best",
    "improvement_bound",
    "is_linear",
    "logit",
    "reverse_gradient",
    "reverse_linear",
    "shell_top",
    "trust_radius",
]
