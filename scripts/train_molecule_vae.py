"""Train the SELFIES VAE that `plgl.generators.get("molecules")` ships.

    nice python scripts/train_molecule_vae.py   # the defaults made the shipped weights (~30 min)

CPU, one thread, fixed seed: the same data and arguments give the same weights. Writes
src/plgl/weights/molecule_vae.pt (state dict) and molecule_vae.json (alphabet, config, training
arguments and statistics, the weights' SHA-256).

Loss: token cross-entropy + beta * KL(q(z|x) || N(0, I)), with beta warmed up from 0 and a floor of
`free_bits` nats per latent dimension (averaged over the batch) below which the KL is not pushed
down; together with word dropout on the decoder inputs this keeps the decoder using z.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import selfies as sf
import torch
from torch.nn import functional

from plgl.generators.molecule_model import MoleculeVAE, MoleculeVAEConfig

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "plgl" / "weights"


def kl_per_dim(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(latent_dim,) KL of each latent dimension to N(0, 1), averaged over the batch."""
    return (0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)).mean(dim=0)


def decode_strings(tokens: np.ndarray, alphabet: list[str]) -> list[str]:
    """(n, max_len) token ids -> SELFIES strings (padding, id 0, is left out)."""
    return ["".join(alphabet[t] for t in row if t != 0) for row in tokens]


def length_batches(
    lengths: torch.Tensor, batch_size: int, rng: torch.Generator
) -> list[torch.Tensor]:
    """Indices in batches of similar length, in random order (less padding to decode).

    Molecules are shuffled, then sorted by length within windows of 50 batches.
    """
    order = torch.randperm(len(lengths), generator=rng)
    window = 50 * batch_size
    batches = []
    for w in range(0, len(order), window):
        chunk = order[w : w + window]
        chunk = chunk[torch.argsort(lengths[chunk], stable=True)]
        batches += [
            chunk[i : i + batch_size] for i in range(0, len(chunk) - batch_size + 1, batch_size)
        ]
    return [batches[i] for i in torch.randperm(len(batches), generator=rng)]


def evaluate(
    model: MoleculeVAE, tokens: torch.Tensor, alphabet: list[str], seed: int
) -> dict[str, float]:
    """Reconstruction (mean latent, greedy) on held-out tokens, and prior-sample uniqueness."""
    model.eval()
    with torch.no_grad():
        mean, _ = model.encode(tokens)
        recon = model.greedy(mean)
        exact = (recon == tokens).all(dim=1).float().mean().item()
        per_token = (recon == tokens).float().mean().item()
        z = torch.randn(
            1000, model.config.latent_dim, generator=torch.Generator().manual_seed(seed)
        )
        samples = decode_strings(model.greedy(z).numpy(), alphabet)
    smiles = {sf.decoder(s) for s in samples}
    model.train()
    return {
        "val_exact_reconstruction": exact,
        "val_token_accuracy": per_token,
        "prior_unique_selfies_1000": len(set(samples)) / 1000,
        "prior_unique_smiles_1000": len(smiles) / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/molecules.npz"))
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--hidden-dim", type=int, default=192)
    parser.add_argument("--beta", type=float, default=0.2, help="final KL weight")
    parser.add_argument("--warmup-steps", type=int, default=1000, help="steps to reach beta")
    parser.add_argument("--free-bits", type=float, default=0.5, help="nats per latent dim")
    parser.add_argument("--word-dropout", type=float, default=0.3)
    parser.add_argument("--max-train", type=int, default=0, help="use only this many (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = np.load(args.data)
    alphabet = [str(t) for t in data["alphabet"]]
    all_tokens = torch.from_numpy(data["tokens"].astype(np.int64))
    is_val = torch.from_numpy(data["is_val"])
    all_lengths = torch.from_numpy(data["lengths"].astype(np.int64))
    train, val = all_tokens[~is_val], all_tokens[is_val][:2000]
    lengths = all_lengths[~is_val]
    if args.max_train:
        train, lengths = train[: args.max_train], lengths[: args.max_train]
    config = MoleculeVAEConfig(
        vocab_size=len(alphabet),
        max_len=all_tokens.shape[1],
        latent_dim=args.latent_dim,
        hidden_dim=args.hidden_dim,
    )
    model = MoleculeVAE(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    shuffle = torch.Generator().manual_seed(args.seed)
    epochs = [length_batches(lengths, args.batch_size, shuffle) for _ in range(args.epochs)]
    total_steps = sum(len(batches) for batches in epochs)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=total_steps, pct_start=0.05
    )
    print(f"{len(train)} training molecules, {len(val)} held out, {total_steps} steps, {config}")

    start, step, history = time.perf_counter(), 0, []
    for epoch, batches in enumerate(epochs):
        sums = {"recon": 0.0, "kl": 0.0}
        for index in batches:
            full = train[index]
            mean, logvar = model.encode(full)
            z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
            # Decode up to one padding token past the longest molecule: the end is learned.
            batch = full[:, : min(config.max_len, int(lengths[index].max()) + 1)]
            inputs = torch.cat([model.start_tokens(len(batch)), batch[:, :-1]], dim=1)
            drop = torch.rand(inputs.shape) < args.word_dropout
            inputs = inputs.masked_fill(drop, config.vocab_size)
            logits = model.logits(z, inputs)
            recon = functional.cross_entropy(logits.transpose(1, 2), batch, reduction="sum") / len(
                batch
            )
            kl = kl_per_dim(mean, logvar)
            beta = args.beta * min(1.0, step / args.warmup_steps)
            loss = recon + beta * kl.clamp(min=args.free_bits).sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            step += 1
            sums["recon"] += recon.item()
            sums["kl"] += kl.sum().item()
            if step % 100 == 0:
                print(
                    f"epoch {epoch} step {step}/{total_steps} recon {recon.item():.2f} "
                    f"kl {kl.sum().item():.1f} beta {beta:.2f} "
                    f"{time.perf_counter() - start:.0f} s",
                    flush=True,
                )
        stats = {
            "epoch": epoch,
            "train_recon_nats": sums["recon"] / len(batches),
            "train_kl_nats": sums["kl"] / len(batches),
            **evaluate(model, val, alphabet, args.seed),
            "seconds": time.perf_counter() - start,
        }
        history.append(stats)
        print(json.dumps(stats), flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "molecule_vae.pt"
    torch.save(model.state_dict(), weights)
    info = {
        "alphabet": alphabet,
        "config": config.to_dict(),
        "training": {
            # Where the files went does not change them; the rest reproduces them.
            **{
                k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "out"
            },
            "data_seed": int(data["seed"]),
            "train_molecules": len(train),
            "torch": torch.__version__,
            "seconds": round(time.perf_counter() - start, 1),
        },
        "history": history,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    (args.out / "molecule_vae.json").write_text(json.dumps(info, indent=1) + "\n")
    size = weights.stat().st_size / 1e6
    print(f"wrote {weights} ({size:.1f} MB) in {info['training']['seconds']} s")


if __name__ == "__main__":
    main()
