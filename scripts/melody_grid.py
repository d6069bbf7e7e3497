"""A piano-roll grid of melodies for the docs: prior samples above, training windows below.

    python scripts/melody_grid.py [--data data/melodies.npz] [--out docs/img/melodies.png]

Without the data file only the prior samples are drawn.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import plgl
from plgl.generators.melodies import Melody
from plgl.generators.melody_render import piano_roll_png

COLUMNS = 4
MARGIN = 8
LABEL = 18


def tile(melodies: list[Melody], title: str) -> Image.Image:
    """One labelled block of piano rolls, COLUMNS to a row."""
    rolls = [Image.open(io.BytesIO(piano_roll_png(m.notes))).convert("RGB") for m in melodies]
    width, height = rolls[0].size
    rows = -(-len(rolls) // COLUMNS)
    block = Image.new(
        "RGB",
        (COLUMNS * (width + MARGIN) + MARGIN, LABEL + rows * (height + MARGIN) + MARGIN),
        "white",
    )
    ImageDraw.Draw(block).text((MARGIN, 4), title, fill=(40, 40, 40))
    for i, roll in enumerate(rolls):
        x = MARGIN + (i % COLUMNS) * (width + MARGIN)
        y = LABEL + MARGIN + (i // COLUMNS) * (height + MARGIN)
        block.paste(roll, (x, y))
    return block


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/melodies.npz"))
    parser.add_argument("--out", type=Path, default=Path("docs/img/melodies.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    generator = plgl.generators.get("melodies")
    samples = generator.generate(generator.sample(8, rng))
    blocks = [tile(samples, "prior samples (z ~ N(0, I), greedy decoding)")]
    if args.data.exists():
        train = np.load(args.data)["train"]
        rows = train[rng.choice(len(train), 4, replace=False)]
        blocks.append(tile([Melody.from_tokens(r) for r in rows], "training windows"))
    grid = Image.new("RGB", (blocks[0].width, sum(b.height for b in blocks)), "white")
    top = 0
    for block in blocks:
        grid.paste(block, (0, top))
        top += block.height
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out)
    print(f"wrote {args.out} ({grid.width}x{grid.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
