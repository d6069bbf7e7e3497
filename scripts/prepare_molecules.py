"""Turn a fixed-seed subset of the MOSES training set into SELFIES token arrays.

The MOSES SMILES ship inside the `molsets` wheel (`pip install --no-deps molsets`); the file is read
from the package folder without importing `moses`, whose `__init__` pulls in dependencies we skip.

    nice python scripts/prepare_molecules.py   # about a minute: 250,000 molecules

Writes tokens (n, max_len) uint8 padded with "[nop]" (SELFIES ignores it when decoding), the
alphabet, the canonical SMILES of each molecule, and a train / validation split.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import time
from pathlib import Path

import numpy as np
import selfies as sf

PAD = "[nop]"


def moses_train_csv() -> Path:
    """Path of MOSES' train.csv.gz inside the installed molsets wheel."""
    spec = importlib.util.find_spec("moses")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("molsets is not installed: pip install --no-deps molsets")
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset" / "data" / "train.csv.gz"
    if not path.exists():
        raise SystemExit(f"MOSES training data not found at {path}")
    return path


def read_smiles(path: Path) -> list[str]:
    with gzip.open(path, "rt", newline="") as handle:
        rows = csv.DictReader(handle)
        return [row["SMILES"] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=250_000, help="molecules in the subset")
    parser.add_argument("--val-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("data/molecules.npz"))
    args = parser.parse_args()

    start = time.perf_counter()
    all_smiles = read_smiles(moses_train_csv())
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(all_smiles), size=args.n, replace=False)
    smiles = [all_smiles[i] for i in chosen]
    print(f"read {len(all_smiles)} MOSES SMILES, chose {len(smiles)} (seed {args.seed})")

    tokens: list[list[str]] = []
    for i, smi in enumerate(smiles):
        tokens.append(list(sf.split_selfies(sf.encoder(smi))))
        if (i + 1) % 20_000 == 0:
            print(f"  encoded {i + 1} in {time.perf_counter() - start:.0f} s", flush=True)

    alphabet = [PAD, *sorted({t for row in tokens for t in row})]
    index = {t: i for i, t in enumerate(alphabet)}
    max_len = max(len(row) for row in tokens)
    array = np.zeros((len(tokens), max_len), dtype=np.uint8)
    for i, row in enumerate(tokens):
        array[i, : len(row)] = [index[t] for t in row]

    n_val = round(args.val_fraction * len(tokens))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        tokens=array,
        lengths=np.array([len(row) for row in tokens], dtype=np.int16),
        alphabet=np.array(alphabet),
        smiles=np.array(smiles),
        is_val=np.arange(len(tokens)) < n_val,
        seed=np.int64(args.seed),
    )
    print(
        f"wrote {args.out}: {len(tokens)} molecules ({n_val} validation), alphabet "
        f"{len(alphabet)} tokens, max length {max_len}, {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
