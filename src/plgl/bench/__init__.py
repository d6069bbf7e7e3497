"""Benchmark library code: simulated users, the learning loop that measures plgl, baselines.

Names load on first use (PEP 562): `plgl bench --help` lists the suites without torch.
"""

import typing as _typing

from plgl._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from plgl.bench.baselines import run_naive, run_random
    from plgl.bench.cache import cache_savings
    from plgl.bench.content import ContentUser, content_user
    from plgl.bench.domains import run_domain
    from plgl.bench.loop import LearningCurve, run_swipes
    from plgl.bench.users import (
        NOISE,
        USER_KINDS,
        DriftingUser,
        IdealPointUser,
        LinearUser,
        MultiIdealUser,
        PairwiseResponder,
        PickyUser,
        SimulatedUser,
        clip_to_ball,
        make_user,
    )

__all__ = [
    "NOISE",
    "USER_KINDS",
    "ContentUser",
    "DriftingUser",
    "IdealPointUser",
    "LearningCurve",
    "LinearUser",
    "MultiIdealUser",
    "PairwiseResponder",
    "PickyUser",
    "SimulatedUser",
    "cache_savings",
    "clip_to_ball",
    "content_user",
    "make_user",
    "run_domain",
    "run_naive",
    "run_random",
    "run_swipes",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "ContentUser": "plgl.bench.content:ContentUser",
        "DriftingUser": "plgl.bench.users:DriftingUser",
        "IdealPointUser": "plgl.bench.users:IdealPointUser",
        "LearningCurve": "plgl.bench.loop:LearningCurve",
        "LinearUser": "plgl.bench.users:LinearUser",
        "MultiIdealUser": "plgl.bench.users:MultiIdealUser",
        "NOISE": "plgl.bench.users:NOISE",
        "PairwiseResponder": "plgl.bench.users:PairwiseResponder",
        "PickyUser": "plgl.bench.users:PickyUser",
        "SimulatedUser": "plgl.bench.users:SimulatedUser",
        "USER_KINDS": "plgl.bench.users:USER_KINDS",
        "cache_savings": "plgl.bench.cache:cache_savings",
        "clip_to_ball": "plgl.bench.users:clip_to_ball",
        "content_user": "plgl.bench.content:content_user",
        "make_user": "plgl.bench.users:make_user",
        "run_domain": "plgl.bench.domains:run_domain",
        "run_naive": "plgl.bench.baselines:run_naive",
        "run_random": "plgl.bench.baselines:run_random",
        "run_swipes": "plgl.bench.loop:run_swipes",
    },
    __all__,
)
