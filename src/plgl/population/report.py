"""The operator's report of a population: Markdown with the summary, the clusters and their
exemplars (rendered by the generator), and the measured speed-up of new users when known.

Everything in it is released (DP) output or public: the summary, the noisy cluster sizes, and
latents along the released centroids (rendered content, not any user's item).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError

if TYPE_CHECKING:
    from plgl.generators import Generator
    from plgl.population.population import Population


def write_report(
    population: Population,
    out: Path,
    generator: Generator | None = None,
    exemplars: int = 6,
    speedup: dict[str, float] | None = None,
    seed: int = 0,
) -> Path:
    """Write `out/population.md` (and exemplar images under `out/clusters/`); returns its path.

    Args:
        population: a refreshed population.
        out: the output folder (created).
        generator: renders each cluster's exemplar latents; None lists no exemplars.
        exemplars: latents per cluster.
        speedup: measured ratings to 0.9 of held-back new users, e.g. {"population prior": 20,
            "scratch": 215}, shown as given.
        seed: draws the exemplar latents.
    """
    summary = population.summary_
    if summary is None:
        raise InvalidInputError("the population has not been refreshed yet: call refresh first")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    epsilon = "none (no noise)" if summary.epsilon is None else f"{summary.epsilon:.3g}"
    total = "none" if summary.total_epsilon is None else f"{summary.total_epsilon:.3g}"
    lines = [
        "# Population report",
        "",
        f"Refreshed {summary.when} from {summary.users:,} users (noisy count), d = "
        f"{summary.dimension}.",
        "",
        "| prior | rank | clusters | matching users | epsilon (this refresh) | total epsilon |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {summary.kind} | {summary.rank} | {summary.clusters} | {summary.matching_users} | "
        f"{epsilon} | {total} (delta {summary.delta:g}) |",
        "",
    ]
    if speedup:
        lines += ["## New users: ratings to reach 0.9 (measured on held-back users)", ""]
        lines += ["| start | ratings |", "| --- | --- |"]
        lines += [f"| {name} | {value:g} |" for name, value in speedup.items()]
        lines.append("")
    lines += ["## Clusters", "", "| cluster | noisy size | exemplars |", "| --- | --- | --- |"]
    for cluster in population.clusters():
        links = ""
        if generator is not None:
            latents = cluster.exemplars(exemplars, rng)
            if latents.shape[1] != generator.latent_dim:
                raise InvalidInputError(
                    f"the generator's latent_dim is {generator.latent_dim}, the population's "
                    f"{latents.shape[1]}"
                )
            links = _exemplars(generator, generator.project(latents), out, cluster.id)
        lines.append(f"| {cluster.id} | {cluster.size:,} | {links} |")
    path = out / "population.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _exemplars(generator: Generator, latents: np.ndarray, out: Path, cluster: int) -> str:
    """Render the latents; one PNG grid when the generator renders PNG, else one file each."""
    folder = out / "clusters"
    folder.mkdir(exist_ok=True)
    contents = generator.generate(latents)
    if "image/png" in generator.media_types:
        from PIL import Image

        images = [
            Image.open(io.BytesIO(generator.render(c, "image/png"))).convert("RGB")
            for c in contents
        ]
        width, height = images[0].size
        grid = Image.new("RGB", (width * len(images), height), "white")
        for i, image in enumerate(images):
            grid.paste(image.resize((width, height)), (i * width, 0))
        name = f"cluster-{cluster}.png"
        grid.save(folder / name)
        return f"![cluster {cluster}](clusters/{name})"
    media = generator.media_types[0]
    suffix = media.split("/")[-1].split("+")[0]
    names = []
    for i, content in enumerate(contents):
        name = f"cluster-{cluster}-{i}.{suffix}"
        (folder / name).write_bytes(generator.render(content, media))
        names.append(f"[{i}](clusters/{name})")
    return " ".join(names)
