"""Evaluate the shipped melody VAE and write docs/melodies.md.

    nice python scripts/evaluate_melodies.py [--data data/melodies.npz] [--samples 2000]

Measures (1) greedy reconstruction of held-out windows (tunes never seen in training), (2) how
often prior samples are well-formed melodies, beside the same statistics of the training data
and of two kinds of noise, (3) uniqueness and copying of training windows, and (4) how well a
classifier on the musical statistics tells each set from the data (0.5 AUC: cannot tell).
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from plgl.generators.melodies import (
    FEATURE_NAMES,
    Melody,
    load_model,
    melody_features,
    pitch_name,
)
from plgl.generators.melody_model import (
    HOLD,
    LOWEST_PITCH,
    REST,
    STEPS,
    VOCAB,
    MelodyVAE,
    token_accuracy,
)

MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
LIMITS = (
    "## Limits",
    "",
    "- An eighth-note grid: where several notes start within one eighth (sixteenth runs, grace",
    "  notes) only the longest is kept, so fast ornamented passages are simplified.",
    "- Only tunes in one duple meter (2/4, 4/4, 2/2); 3/4 and 6/8 tunes are not used yet.",
    "- Bar lines come from abc2midi's accent on the first note of each bar; a bar that begins",
    "  with a rest or a tie has no accent, and no window starts there.",
    "- Two bars only (16 steps); no chords, no dynamics. Decoding is greedy, so one latent gives",
    "  one melody. A hold after a rest (an orphan hold) sounds as silence.",
    "- Corpus licence: music21 ships the folk encodings with their encoders' permission and notes",
    "  that some may not be used commercially; the tunes themselves are public domain.",
    "",
)
STAT_NAMES = (
    "notes",
    "4+ notes",
    "orphan hold",
    "span <= 19",
    "in key",
    "well-formed",
    *FEATURE_NAMES,
)


def window_stats(tokens: np.ndarray) -> np.ndarray:
    """(n, len(STAT_NAMES)) statistics of token windows (n, STEPS).

    in key: the largest share of sounding steps whose pitch lies in one diatonic scale (natural
    minor and the modes are rotations of major). orphan hold: a hold at the start or after a
    rest (the decoder may emit one; it sounds as silence). well-formed: at least 4 notes, no
    orphan hold, a span of at most an octave and a fifth, and at least 7/8 in one key.
    """
    masks = np.stack([np.roll(MAJOR_SCALE, tonic) for tonic in range(12)])
    rows = []
    for row in tokens:
        previous = np.concatenate([[REST], row[:-1]])
        orphan = bool(np.any((row == HOLD) & (previous == REST)))
        melody = Melody.from_tokens(row)
        pitches = np.array([n.pitch for n in melody.notes], dtype=np.int64)
        lengths = np.array([n.duration for n in melody.notes], dtype=np.float64)
        span = int(np.ptp(pitches)) if len(pitches) else 0
        in_key = (
            float((masks[:, pitches % 12] * lengths).sum(axis=1).max() / lengths.sum())
            if len(pitches)
            else 0.0
        )
        formed = len(pitches) >= 4 and not orphan and span <= 19 and in_key >= 7 / 8
        counts = [len(pitches), len(pitches) >= 4, orphan, span <= 19, in_key, formed]
        rows.append(np.concatenate([np.array(counts, dtype=np.float64), melody_features(melody)]))
    return np.array(rows, dtype=np.float64)


def distinguishability(a: np.ndarray, b: np.ndarray, seed: int) -> tuple[float, float]:
    """5-fold cross-validated ROC AUC of (logistic regression, gradient boosting) telling the
    statistics of set `a` from set `b` (0.5: indistinguishable, 1.0: always told apart)."""
    X = np.concatenate([a, b])
    y = np.concatenate([np.zeros(len(a)), np.ones(len(b))])
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    boosted = HistGradientBoostingClassifier(random_state=seed)
    return (
        float(cross_val_score(linear, X, y, cv=5, scoring="roc_auc").mean()),
        float(cross_val_score(boosted, X, y, cv=5, scoring="roc_auc").mean()),
    )


def decode(model: MelodyVAE, z: np.ndarray) -> np.ndarray:
    """Greedy tokens (n, STEPS) for latents (n, latent_dim), in batches."""
    parts = [
        model.decode_greedy(torch.from_numpy(z[i : i + 512].astype(np.float32))).numpy()
        for i in range(0, len(z), 512)
    ]
    return np.concatenate(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/melodies.npz"))
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("docs/melodies.md"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--weights", type=Path, default=None, help="folder of melody_vae.pt and .json"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)  # the machine is shared; gradient boosting would take every core
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    data = np.load(args.data)
    train, valid = data["train"].astype(np.int64), data["valid"].astype(np.int64)
    weights = resources.files("plgl") / "weights" if args.weights is None else args.weights
    model, digest = load_model(weights)
    training = json.loads((weights / "melody_vae.json").read_text())

    # Reconstruction: held-out tunes, and a training subset of the same size for comparison.
    train_keys = {row.tobytes() for row in train}
    unseen = np.array([row.tobytes() not in train_keys for row in valid])
    train_subset = train[rng.permutation(len(train))[: len(valid)]]
    recon = {}
    for name, tokens in (("validation", valid), ("validation, unseen windows", valid[unseen])):
        recon[name] = _reconstruction(model, tokens)
    recon["training subset"] = _reconstruction(model, train_subset)

    # Prior samples against data and noise.
    z = rng.standard_normal((args.samples, model.config.latent_dim))
    samples = decode(model, z)
    data_rows = train[rng.permutation(len(train))[: args.samples]]
    shuffled = np.array([row[rng.permutation(STEPS)] for row in data_rows])
    uniform = rng.integers(0, VOCAB, size=(args.samples, STEPS))
    sets = {
        "training data": data_rows,
        "prior samples": samples,
        "shuffled data": shuffled,
        "uniform tokens": uniform,
    }
    stats = {name: window_stats(tokens) for name, tokens in sets.items()}
    unique = len({row.tobytes() for row in samples}) / len(samples)
    copies = float(np.mean([row.tobytes() in train_keys for row in samples]))
    auc = {
        name: distinguishability(stats["training data"], stats[name], args.seed)
        for name in ("prior samples", "shuffled data", "uniform tokens")
    }
    auc["prior samples vs shuffled data"] = distinguishability(
        stats["prior samples"], stats["shuffled data"], args.seed
    )
    report = _markdown(data, training, digest, recon, stats, unique, copies, auc, samples)
    report += f"\nEvaluation took {time.perf_counter() - started:.0f} s (seed {args.seed}).\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print(report)
    return 0


def _reconstruction(model: MelodyVAE, tokens: np.ndarray) -> dict[str, float]:
    with torch.no_grad():
        mu, _ = model.encode(torch.from_numpy(tokens))
    greedy = decode(model, mu.numpy())
    onsets = tokens >= 2
    return {
        "windows": len(tokens),
        "token accuracy": token_accuracy(greedy, tokens),
        "onset pitch accuracy": float(np.mean(greedy[onsets] == tokens[onsets])),
        "exact windows": float(np.mean(np.all(greedy == tokens, axis=1))),
    }


def _markdown(
    data: np.lib.npyio.NpzFile,
    training: dict[str, object],
    digest: str,
    recon: dict[str, dict[str, float]],
    stats: dict[str, np.ndarray],
    unique: float,
    copies: float,
    auc: dict[str, tuple[float, float]],
    samples: np.ndarray,
) -> str:
    prep = json.loads(str(data["stats"]))
    train_info = training["training"]
    history = training["history"]
    assert isinstance(train_info, dict) and isinstance(history, list)
    last = history[-1]
    lines = [
        "# Melodies: the melody VAE and how well it does",
        "",
        "Generated by `scripts/evaluate_melodies.py`; numbers are from the weights",
        f"(sha256 `{digest[:16]}`).",
        "",
        "## Data",
        "",
        f"music21's folk corpus: {prep['abc files']} ABC files, {prep['midi files']} tunes"
        f" converted by abc2midi, {prep['duple tunes']} distinct tunes in one duple meter"
        " (2/4, 4/4, 2/2) kept."
        f" Tunes split {prep['train tunes']} / {prep['valid tunes']} (training / validation)"
        f" before windowing: {prep['train windows']} / {prep['valid windows']}"
        " windows of 16 eighth-note steps starting on bar lines.",
        f"Windows per collection: {prep['windows per collection']}.",
        "",
        "## Training",
        "",
        f"{train_info['epochs']} epochs, batch {train_info['batch_size']}, beta"
        f" {train_info['beta']} after {train_info['warmup_epochs']} warm-up epochs, free bits"
        f" {train_info['free_bits']} nats per dimension, seed {train_info['seed']}, one CPU thread"
        f" (shared, contended machine): {train_info['seconds'] / 60:.1f} minutes."
        f" Final validation NLL {last['valid_nll']:.2f} nats per window, KL"
        f" {last['valid_kl']:.2f} nats.",
        "",
        "## Reconstruction (greedy decoding from the posterior mean)",
        "",
        "| windows | n | token accuracy | pitch at onsets | exact window |",
        "|---|---|---|---|---|",
    ]
    for name, row in recon.items():
        lines.append(
            f"| {name} | {row['windows']} | {row['token accuracy']:.3f} |"
            f" {row['onset pitch accuracy']:.3f} | {row['exact windows']:.3f} |"
        )
    lines += [
        "",
        "## Prior samples against the data and against noise",
        "",
        f"{len(samples)} latents from N(0, I), decoded greedily; the same number of training"
        " windows; the same windows with their 16 steps shuffled; uniform random tokens."
        " Means per window (shares for the yes/no rows).",
        "",
        "| statistic | " + " | ".join(stats) + " |",
        "|---|" + "---|" * len(stats),
    ]
    for i, name in enumerate(STAT_NAMES):
        cells = " | ".join(f"{table[:, i].mean():.3f}" for table in stats.values())
        lines.append(f"| {name} | {cells} |")
    lines += [
        "",
        f"Unique prior samples: {unique:.3f}. Prior samples that copy a training window:"
        f" {copies:.3f}.",
        "",
        "## Can a classifier tell them apart?",
        "",
        "Cross-validated ROC AUC of a classifier on the statistics above (0.5: cannot tell).",
        "",
        "| pair | logistic regression | gradient boosting |",
        "|---|---|---|",
    ]
    for name, (linear, boosted) in auc.items():
        pair = name if " vs " in name else f"training data vs {name}"
        lines.append(f"| {pair} | {linear:.3f} | {boosted:.3f} |")
    lines += [
        "",
        "## A few prior samples",
        "",
        "![Piano rolls: prior samples above, training windows below](img/melodies.png)",
        "",
        "(drawn by `scripts/melody_grid.py`) and as notes (`.` rest, `-` hold):",
        "",
        "```",
    ]
    for row in samples[:8]:
        lines.append(_score(row))
    lines += ["```", "", *LIMITS]
    return "\n".join(lines)


def _score(tokens: np.ndarray) -> str:
    return " ".join(
        "." if t == REST else "-" if t == HOLD else pitch_name(LOWEST_PITCH + int(t) - 2)
        for t in tokens
    )


if __name__ == "__main__":
    raise SystemExit(main())
