"""MOSES-style metrics of the shipped molecule VAE, written to docs/molecules.md.

    nice python scripts/evaluate_molecules.py --data data/molecules.npz

Prior samples z ~ N(0, I) (seed 0) are decoded greedily. Validity is checked with RDKit,
uniqueness and novelty follow MOSES (unique valid SMILES / valid; unique valid SMILES absent from
the 1.58M MOSES training SMILES / unique valid), internal diversity is 1 - mean Tanimoto
similarity of Morgan fingerprints (radius 2, 2048 bits) over pairs. Property distributions are
compared with a random training subset by the Wasserstein-1 distance, beside the distance between
two disjoint random training subsets of the same size (the floor set by sampling alone).
Reconstruction: held-out molecules encoded to their posterior mean and decoded greedily.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from scipy.stats import wasserstein_distance

from plgl.generators import get
from plgl.generators.molecules import PROPERTIES, Molecule, properties

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_molecules import moses_train_csv, read_smiles

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("qed", "logp", "sa_score", "weight")


def internal_diversity(smiles: list[str]) -> float:
    """1 - mean pairwise Tanimoto similarity of Morgan fingerprints (radius 2, 2048 bits)."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    total, pairs = 0.0, 0
    for i in range(1, len(fps)):
        sims = DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])
        total += sum(sims)
        pairs += len(sims)
    return 1.0 - total / pairs


def tanimoto(a: list[str], b: list[str]) -> float:
    """Mean Tanimoto similarity of Morgan fingerprints (radius 2, 2048 bits) of paired SMILES."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return float(
        np.mean(
            [
                DataStructs.TanimotoSimilarity(
                    generator.GetFingerprint(Chem.MolFromSmiles(x)),
                    generator.GetFingerprint(Chem.MolFromSmiles(y)),
                )
                for x, y in zip(a, b, strict=True)
            ]
        )
    )


def property_table(smiles: list[str]) -> np.ndarray:
    """(n, len(PROPERTIES)) RDKit properties."""
    return np.array([properties(s) for s in smiles])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "molecules.npz")
    parser.add_argument("--samples", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--property-samples", type=int, default=2000)
    parser.add_argument("--reconstruct", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "molecules.md")
    args = parser.parse_args()
    start = time.perf_counter()

    gen = get("molecules")
    rng = np.random.default_rng(0)
    latents = gen.sample(max(args.samples), rng)
    t = time.perf_counter()
    molecules: list[Molecule] = gen.generate(latents)
    per_molecule_ms = 1000 * (time.perf_counter() - t) / len(molecules)
    print(f"decoded {len(molecules)} prior samples ({per_molecule_ms:.2f} ms each)", flush=True)

    train = read_smiles(moses_train_csv())
    train_set = set(train)
    check = np.random.default_rng(1).choice(len(train), 2000, replace=False)
    canonical_agree = np.mean(
        [Chem.MolToSmiles(Chem.MolFromSmiles(train[i])) == train[i] for i in check]
    )

    rows = []
    for n in args.samples:
        smiles = [m.smiles for m in molecules[:n]]
        valid = [
            s for s in smiles if (mol := Chem.MolFromSmiles(s)) is not None and mol.GetNumAtoms()
        ]
        unique = set(valid)
        novel = unique - train_set
        rows.append(
            {
                "n": n,
                "validity": len(valid) / n,
                "uniqueness": len(unique) / max(1, len(valid)),
                "novelty": len(novel) / max(1, len(unique)),
            }
        )
        print(rows[-1], flush=True)
    n_diverse = min(1000, len(molecules))
    diversity = internal_diversity([m.smiles for m in molecules[:n_diverse]])
    train_diversity = internal_diversity([train[i] for i in check[:1000]])

    k = args.property_samples
    picks = np.random.default_rng(2).choice(len(train), 2 * k, replace=False)
    generated = property_table([m.smiles for m in molecules[:k]])
    reference = property_table([train[i] for i in picks[:k]])
    second = property_table([train[i] for i in picks[k:]])
    print(f"properties done, {time.perf_counter() - start:.0f} s", flush=True)

    data = np.load(args.data)
    alphabet = [str(t) for t in data["alphabet"]]
    if tuple(alphabet) != gen.alphabet:
        raise SystemExit(f"{args.data} and the shipped weights use different alphabets")
    held_out = [str(s) for s in data["smiles"][data["is_val"]][: args.reconstruct]]
    decoded = gen.generate(gen.encode(held_out))
    exact = np.mean(
        [
            m.smiles == Chem.MolToSmiles(Chem.MolFromSmiles(s))
            for m, s in zip(decoded, held_out, strict=True)
        ]
    )
    similar = tanimoto(held_out, [m.smiles for m in decoded])
    baseline = tanimoto(held_out, [m.smiles for m in molecules[: len(held_out)]])

    info = json.loads((ROOT / "src" / "plgl" / "weights" / "molecule_vae.json").read_text())
    write_report(
        args.out,
        info,
        rows,
        n_diverse,
        diversity,
        train_diversity,
        generated,
        reference,
        second,
        (float(exact), similar, baseline),
        len(held_out),
        float(canonical_agree),
        per_molecule_ms,
        k,
    )
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")


def write_report(
    out: Path,
    info: dict[str, Any],
    rows: list[dict[str, float]],
    n_diverse: int,
    diversity: float,
    train_diversity: float,
    generated: np.ndarray,
    reference: np.ndarray,
    second: np.ndarray,
    reconstruction: tuple[float, float, float],
    n_held_out: int,
    canonical_agree: float,
    per_molecule_ms: float,
    k: int,
) -> None:
    training = info["training"]
    history = info["history"]
    last = history[-1]
    lines = [
        "# Molecules: the SELFIES VAE",
        "",
        '`plgl.generators.get("molecules")` decodes a 32-d N(0, I) latent into a molecule',
        "with a SELFIES VAE trained here on MOSES (the `molsets` wheel's training set, MIT,",
        "derived from ZINC Clean Leads). Made by `scripts/prepare_molecules.py` and",
        "`scripts/train_molecule_vae.py`; this report by `scripts/evaluate_molecules.py` (fixed",
        "seeds throughout).",
        "",
        "## Model and training",
        "",
        f"- Data: {training['train_molecules']:,} training molecules, a random subset (seed "
        f"{training['data_seed']}) of MOSES train, SELFIES-encoded "
        f"(alphabet of {len(info['alphabet'])} tokens including the padding `[nop]`).",
        "- Encoder: three 1-D convolutions over token embeddings; decoder: a GRU "
        f"(hidden {info['config']['hidden_dim']}) that sees z at every step, greedy decoding "
        "(the same latent always gives the same molecule).",
        f"- Loss: cross-entropy + beta KL, beta warmed up to {training['beta']} over "
        f"{training['warmup_steps']} steps, free bits {training['free_bits']} nats per dimension, "
        f"word dropout {training['word_dropout']}; {training['epochs']} epoch(s), batch "
        f"{training['batch_size']}, Adam with a one-cycle learning rate (max {training['lr']}).",
        f"- Training time: {float(training['seconds']) / 60:.1f} min on one CPU thread of a shared "
        "2-core machine (torch "
        f"{training['torch']}); final KL {last['train_kl_nats']:.1f} nats, reconstruction loss "
        f"{last['train_recon_nats']:.1f} nats per molecule.",
        f"- Decoding speed: {per_molecule_ms:.2f} ms per molecule (batched, including SELFIES "
        "decoding and RDKit canonicalization).",
        "",
        "## MOSES-style metrics of prior samples",
        "",
        "| samples | validity (RDKit) | uniqueness | novelty |",
        "|---:|---:|---:|---:|",
        *[
            f"| {r['n']:,} | {r['validity']:.1%} | {r['uniqueness']:.1%} | {r['novelty']:.1%} |"
            for r in rows
        ],
        "",
        f"- Internal diversity ({n_diverse:,} samples, Morgan r=2): {diversity:.3f} "
        f"(MOSES training molecules: {train_diversity:.3f}).",
        "- Novelty compares RDKit canonical SMILES with the 1,584,663 MOSES training SMILES as "
        f"stored; {canonical_agree:.1%} of 2,000 stored training SMILES are already in this "
        "RDKit's canonical form, so the comparison is sound to about that degree.",
        f"- Reconstruction of {n_held_out:,} held-out molecules (posterior mean, greedy): "
        f"{reconstruction[0]:.1%} exact (canonical SMILES); mean Tanimoto similarity to the "
        f"input {reconstruction[1]:.2f} (to an unrelated prior sample: {reconstruction[2]:.2f}); "
        "token accuracy at the end of training "
        f"{last['val_token_accuracy']:.1%}.",
        "",
        f"## Property distributions ({k:,} prior samples vs {k:,} training molecules)",
        "",
        "Wasserstein-1 distance to the training subset, beside the distance between two disjoint "
        "training subsets of the same size (sampling noise alone).",
        "",
        "| property | generated mean ± sd | training mean ± sd | W1 | W1 train vs train |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in SHOWN:
        j = PROPERTIES.index(name)
        g, r, s = generated[:, j], reference[:, j], second[:, j]
        lines.append(
            f"| {name} | {g.mean():.2f} ± {g.std():.2f} | {r.mean():.2f} ± {r.std():.2f} | "
            f"{wasserstein_distance(g, r):.3f} | {wasserstein_distance(s, r):.3f} |"
        )
    j_qed, j_sa = PROPERTIES.index("qed"), PROPERTIES.index("sa_score")
    qed = (generated[:, j_qed].mean(), reference[:, j_qed].mean())
    sa = (generated[:, j_sa].mean(), reference[:, j_sa].mean())
    lines += [
        "",
        "## Limits",
        "",
        f"- Reconstruction is weak ({reconstruction[0]:.1%} exact): a 32-d latent with KL "
        f"{last['train_kl_nats']:.0f} nats carries a molecule's gist, not its exact structure, so "
        "`encode` finds a neighbourhood rather than a round trip.",
        f"- Prior samples are less drug-like than MOSES (QED {qed[0]:.2f} vs {qed[1]:.2f}, SA "
        f"score {sa[0]:.2f} vs {sa[1]:.2f}, 1 easy to 10 hard): the model was trained for "
        f"{float(training['seconds']) / 60:.0f} minutes on one CPU thread. Preference learning "
        "steers toward the liked region; "
        "a longer run of the training script (more epochs) is the way to a closer match.",
        "",
        "Prior samples are drawn in `img/molecules.svg` (made by `scripts/sample_grids.py`).",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
