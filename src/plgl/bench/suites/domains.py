"""Content users on the real generators (faces, melodies, molecules): `plgl.bench.domains`.

A simulated user whose taste is defined on the generated content swipes through each domain's
generator; plgl (over latents, and over content features) is measured against random search.
The work and its rows are `plgl.bench.domains.run_domain`'s; this module plans one task per domain
and reports a domain that cannot run here (generator or weights missing) as skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

TITLE = "Content users on the real generators (faces, melodies, molecules)"
DOMAINS = ("faces", "melodies", "molecules")
METRICS = {
    "top1": Metric("normalized utility of recommendation #1", reach=0.9),
    "top10": Metric("mean normalized utility of the top 10"),
    "like_rate": Metric("like-rate of the batch shown"),
}
RATINGS = 100
QUICK_RATINGS = 30


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per domain (it runs every method and seed of that domain)."""
    try:
        import plgl.bench.domains  # noqa: F401
    except ImportError as error:
        raise SuiteSkipped(f"plgl.bench.domains cannot be imported: {error}") from error
    chosen = tuple(seeds) if seeds else (0,) if quick else (0, 1, 2)
    ratings = 10 if is_tiny() else QUICK_RATINGS if quick else RATINGS
    return [
        Task(
            "domains",
            name,
            "all",
            None,
            {"seeds": list(chosen), "ratings": ratings, "quick": quick},
            cost=2.0 if quick else 20.0,
        )
        for name in DOMAINS
    ]


def run_task(task: Task) -> list[Row]:
    """`run_domain` for one domain; a missing generator or model is a skip, with its reason."""
    from plgl.bench.domains import run_domain
    from plgl.generators import available

    if task.problem not in available():
        raise SuiteSkipped(f"no generator {task.problem!r} is registered yet")
    try:
        rows = run_domain(
            task.problem,
            ratings=int(task.params["ratings"]),
            seeds=list(task.params["seeds"]),
            quick=bool(task.params["quick"]),
        )
    except (ImportError, LookupError, FileNotFoundError) as error:
        raise SuiteSkipped(f"domain {task.problem!r} cannot run here: {error!r}") from error
    return [
        {**row, "suite": "domains", "problem": row.get("problem", task.problem)} for row in rows
    ]
