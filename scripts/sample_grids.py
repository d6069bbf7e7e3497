"""Sample grids for the docs, each from the generator's own `render()`, seed 0.

    python scripts/sample_grids.py [--out docs/img]

Writes:
* faces.png: 8x8 faces from the prior of the `faces` generator (64x64 each).
* faces_climb.png: 8 prior faces (top) and the same latents after 30 steps of gradient ascent
  through the generator on the simulated "bright, warm faces" user's utility, moving about 3 in
  latent norm as FeaturePreference's navigation does (bottom).
* faces_shell_walk.png: 6 prior faces (top row) moved along the user's best linear latent
  direction to projections 2, 4, 6, 8 and 10 (the top of the shell |z| = 10), one row each: far
  from real samples, on the shell, the DCGAN paints washed-out yellow ghosts.
* melody_samples.png: 4x4 piano rolls from the prior of `melodies` (its "image/png").
* molecules.svg: 4x4 molecule depictions from the prior of `molecules` (its "image/svg+xml").

A domain whose generator cannot be built here (weights not installed or not trained yet) is
skipped with a message; the others are still written.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import plgl
from plgl.bench.content import PRESETS, ContentUser
from plgl.errors import PlglError
from plgl.generators import Generator
from plgl.navigation import reverse_gradient

GAP = 4


def grid(tiles: list[Image.Image], columns: int, scale: int = 1) -> Image.Image:
    """Tiles (all one size) in rows of `columns` on a white sheet, each scaled by `scale`."""
    width, height = tiles[0].size[0] * scale, tiles[0].size[1] * scale
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * (width + GAP) + GAP, rows * (height + GAP) + GAP), "white")
    for i, tile in enumerate(tiles):
        resized = tile.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        sheet.paste(
            resized, (GAP + (i % columns) * (width + GAP), GAP + (i // columns) * (height + GAP))
        )
    return sheet


def pictures(generator: Generator, latents: np.ndarray, media_type: str) -> list[Image.Image]:
    contents = generator.generate(latents)
    return [Image.open(io.BytesIO(generator.render(c, media_type))) for c in contents]


def faces_grid(out: Path) -> None:
    faces = plgl.generators.get("faces")
    latents = faces.sample(64, np.random.default_rng(0))
    grid(pictures(faces, latents, "image/png"), 8).save(out / "faces.png")


def faces_climb(out: Path) -> None:
    """Prior faces and where gradient ascent on the bright-warm user's utility takes them."""
    faces = plgl.generators.get("faces")
    user = ContentUser(faces, PRESETS["faces"], n_prior=200, climb_starts=0)
    starts = faces.project(faces.sample(8, np.random.default_rng(1)))

    class Utility:
        torch_decision = staticmethod(user.torch_utility)

    climbed = reverse_gradient(
        Utility(), None, starts, math.sqrt(faces.latent_dim), steps=30, learning_rate=0.01
    )
    tiles = pictures(faces, starts, "image/png") + pictures(faces, climbed, "image/png")
    grid(tiles, 8, scale=2).save(out / "faces_climb.png")


def faces_shell_walk(out: Path) -> None:
    """Latents walked along the bright-warm user's linear direction, on the shell."""
    faces = plgl.generators.get("faces")
    user = ContentUser(faces, PRESETS["faces"], n_prior=200, climb_starts=0)
    latents, _ = faces.feature_sample()
    design = np.column_stack([latents, np.ones(len(latents))])
    coef = np.linalg.lstsq(design, user.utility(latents), rcond=None)[0][:-1]
    unit = coef / np.linalg.norm(coef)
    starts = faces.project(faces.sample(6, np.random.default_rng(5)))
    ortho = starts - np.outer(starts @ unit, unit)
    ortho /= np.linalg.norm(ortho, axis=1, keepdims=True)
    radius = math.sqrt(faces.latent_dim)
    tiles = pictures(faces, starts, "image/png")
    for t in (2.0, 4.0, 6.0, 8.0, radius):
        walked = t * unit + math.sqrt(radius**2 - t**2) * ortho
        tiles += pictures(faces, walked, "image/png")
    grid(tiles, 6, scale=2).save(out / "faces_shell_walk.png")


def melodies_grid(out: Path) -> None:
    melodies = plgl.generators.get("melodies")
    latents = melodies.sample(16, np.random.default_rng(0))
    grid(pictures(melodies, latents, "image/png"), 4).save(out / "melody_samples.png")


def molecules_grid(out: Path, size: int = 200) -> None:
    """One SVG of 4x4 depictions: each molecule's own SVG nested at its place in the grid."""
    molecules = plgl.generators.get("molecules")
    contents = molecules.generate(molecules.sample(16, np.random.default_rng(0)))
    cells = []
    for i, content in enumerate(contents):
        svg = molecules.render(content, "image/svg+xml").decode()
        body = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg.strip())
        x, y = GAP + (i % 4) * (size + GAP), GAP + (i // 4) * (size + GAP)
        opening = re.search(r"<svg\b[^>]*>", body)
        if opening is None:
            raise ValueError("the molecule depiction is not an SVG")
        # The depiction's own size gives way to its cell's; its viewBox scales it to fit.
        tag = re.sub(r"\s(width|height)=(['\"])[^'\"]*\2", "", opening.group(0))
        tag = tag.replace("<svg", f'<svg x="{x}" y="{y}" width="{size}" height="{size}"', 1)
        cells.append(body[: opening.start()] + tag + body[opening.end() :])
    side = 4 * (size + GAP) + GAP
    (out / "molecules.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
        f'viewBox="0 0 {side} {side}"><rect width="100%" height="100%" fill="white"/>'
        + "".join(cells)
        + "</svg>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    missing = 0
    for name, make in (
        ("faces", faces_grid),
        ("faces climb", faces_climb),
        ("faces shell walk", faces_shell_walk),
        ("melodies", melodies_grid),
        ("molecules", molecules_grid),
    ):
        try:
            make(args.out)
            print(f"{name}: written to {args.out}")
        except (PlglError, OSError) as error:  # a domain not installed or not trained here
            missing += 1
            print(f"{name}: skipped ({error})", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
