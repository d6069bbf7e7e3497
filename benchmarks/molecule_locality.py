"""How local the molecule VAE's latent is: what a small step from a latent decodes to.

The duels and For-you climb from the champion by steps in the latent; on molecules even the
best new neighbour of a champion is below it (docs/learning.md, "What For-you could make near
the champion"). Printed for the shipped weights and each `--weights` folder (made by
`scripts/train_molecule_vae.py --out DIR`), Morgan fingerprints (radius 2, 2,048 bits):

* reconstruction of held-out molecules (posterior mean, greedy): the exact share and the mean
  Tanimoto similarity to the input;
* the mean Tanimoto similarity of two unrelated prior samples (the floor);
* for steps of length r in uniformly random directions from prior latents: the share that
  decode to the same molecule, and the mean Tanimoto similarity of those that changed;
* the prior samples' uniqueness and mean QED.

    python scripts/prepare_molecules.py   # data/molecules.npz, once
    OMP_NUM_THREADS=1 nice python benchmarks/molecule_locality.py --weights DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from plgl.generators.molecules import MoleculeGenerator, properties

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from evaluate_molecules import tanimoto  # noqa: E402  (a script's helper, not a package's)

STEPS = (0.25, 0.5, 1.0, 2.0, 4.0)


def locality(generator: MoleculeGenerator, held_out: list[str], n: int) -> list[str]:
    """Lines of the measurements above for one generator, on `held_out` SMILES and `n` prior
    latents (seed 0)."""
    decoded = [m.smiles for m in generator.generate(generator.encode(held_out))]
    exact = np.mean([a == b for a, b in zip(held_out, decoded, strict=True)])
    rng = np.random.default_rng(0)
    base = rng.standard_normal((n, generator.latent_dim))
    here = [m.smiles for m in generator.generate(base)]
    other = [m.smiles for m in generator.generate(rng.standard_normal(base.shape))]
    lines = [
        f"reconstruction: exact {exact:.1%}, Tanimoto {tanimoto(held_out, decoded):.2f}; "
        f"unrelated prior samples: Tanimoto {tanimoto(here, other):.2f}"
    ]
    for step in STEPS:
        directions = rng.standard_normal(base.shape)
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        there = [m.smiles for m in generator.generate(base + step * directions)]
        changed = [(a, b) for a, b in zip(here, there, strict=True) if a != b]
        similar = tanimoto(*map(list, zip(*changed, strict=True))) if changed else float("nan")
        lines.append(
            f"step {step}: the same molecule {1 - len(changed) / n:.0%}, "
            f"changed ones' Tanimoto {similar:.2f}"
        )
    qed = np.mean([properties(s)[0] for s in here])
    lines.append(f"prior samples: unique {len(set(here)) / n:.1%}, mean QED {qed:.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, nargs="*", default=[], help="folders to compare")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "molecules.npz")
    parser.add_argument("--held-out", type=int, default=400)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = np.load(args.data)
    held_out = [str(s) for s in data["smiles"][data["is_val"]][: args.held_out]]
    for folder in [None, *args.weights]:
        weights = None if folder is None else folder / "molecule_vae.pt"
        print(f"== {'shipped' if folder is None else folder}")
        for line in locality(MoleculeGenerator(weights=weights), held_out, args.samples):
            print(line, flush=True)


if __name__ == "__main__":
    main()
