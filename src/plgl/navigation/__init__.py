"""Navigation: find latents for a wanted score, on the region the generator renders well."""

from plgl.models import is_linear  # re-exported: closed-form navigation applies to these
from plgl.navigation.anchors import ContentJudge, PerceptualMaps, content_scores
from plgl.navigation.best import best_latents, latents_at, top_of_shell
from plgl.navigation.diverse import farthest_points
from plgl.navigation.grounded import grounded_at, grounded_best, grounded_new, liked_order
from plgl.navigation.reverse import logit, reverse_gradient, reverse_linear, shell_top
from plgl.navigation.trust import improvement_bound, trust_candidates, trust_radius

__all__ = [
    "ContentJudge",
    "PerceptualMaps",
    "best_latents",
    "content_scores",
    "farthest_points",
    "grounded_at",
    "grounded_best",
    "grounded_new",
    "improvement_bound",
    "is_linear",
    "latents_at",
    "liked_order",
    "logit",
    "reverse_gradient",
    "reverse_linear",
    "shell_top",
    "top_of_shell",
    "trust_candidates",
    "trust_radius",
]
