"""Train the melody VAE on the windows from `prepare_melodies.py` and write the shipped weights.

    nice python scripts/train_melody_vae.py [--data data/melodies.npz] [--epochs 8]

CPU, one thread, fixed seed: the same data and arguments give the same weights. Writes
`src/plgl/weights/melody_vae.pt` (a state dict) and `melody_vae.json` (the network config, the
training settings and per-epoch statistics).

Loss per window: reconstruction NLL (teacher forcing) + beta * KL(q(z|x) || N(0, I)), with beta
ramped up from 0 (KL warm-up: the decoder learns to use z before the prior pulls on it) and
free bits: each latent dimension's KL below `free_bits` nats costs nothing, so no dimension is
pushed to carry no information at all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn.functional import cross_entropy

from plgl.generators.melody_model import MelodyVAE, MelodyVAEConfig, config_dict, token_accuracy

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "plgl" / "weights"


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(latent_dim,) mean KL of q(z|x) = N(mu, exp(logvar)) from N(0, I), per dimension."""
    return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(dim=0)


def evaluate(model: MelodyVAE, tokens: torch.Tensor) -> dict[str, float]:
    """Validation NLL and KL (nats per window) and greedy token accuracy from the posterior mean."""
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(tokens)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        nll = cross_entropy(model.logits(z, tokens).transpose(1, 2), tokens, reduction="sum")
        greedy = model.decode_greedy(mu).numpy()
    model.train()
    return {
        "nll": float(nll) / len(tokens),
        "kl": float(kl_per_dim(mu, logvar).sum()),
        "greedy_token_accuracy": token_accuracy(greedy, tokens.numpy()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/melodies.npz"))
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--beta", type=float, default=0.5, help="KL weight after warm-up")
    parser.add_argument("--warmup-epochs", type=float, default=2.0)
    parser.add_argument("--free-bits", type=float, default=0.25, help="nats per latent dim")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid-size", type=int, default=3000)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    data = np.load(args.data)
    train = torch.from_numpy(data["train"].astype(np.int64))
    valid_all = data["valid"].astype(np.int64)
    valid = torch.from_numpy(valid_all[rng.permutation(len(valid_all))[: args.valid_size]])
    config = MelodyVAEConfig()
    model = MelodyVAE(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = -(-len(train) // args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=total_steps, pct_start=0.1
    )
    warmup_steps = max(1, round(args.warmup_epochs * steps_per_epoch))
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    step = 0
    for epoch in range(1, args.epochs + 1):
        order = torch.from_numpy(rng.permutation(len(train)))
        sums = {"nll": 0.0, "kl": 0.0}
        for batch_start in range(0, len(train), args.batch_size):
            batch = train[order[batch_start : batch_start + args.batch_size]]
            mu, logvar = model.encode(batch)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            nll = cross_entropy(model.logits(z, batch).transpose(1, 2), batch, reduction="sum")
            nll = nll / len(batch)
            kl = kl_per_dim(mu, logvar)
            beta = args.beta * min(1.0, step / warmup_steps)
            loss = nll + beta * torch.clamp(kl, min=args.free_bits).sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            sums["nll"] += nll.item() * len(batch)
            sums["kl"] += kl.sum().item() * len(batch)
        stats = {
            "epoch": epoch,
            "seconds": round(time.perf_counter() - started, 1),
            "train_nll": sums["nll"] / len(train),
            "train_kl": sums["kl"] / len(train),
            **{f"valid_{k}": v for k, v in evaluate(model, valid).items()},
        }
        history.append(stats)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in stats.items()}))

    args.out.mkdir(parents=True, exist_ok=True)
    weights_path = args.out / "melody_vae.pt"
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(state, weights_path)
    report = {
        "config": config_dict(config),
        "training": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "beta": args.beta,
            "warmup_epochs": args.warmup_epochs,
            "free_bits": args.free_bits,
            "seed": args.seed,
            "train_windows": len(train),
            "valid_windows_scored": len(valid),
            "data_sha256": hashlib.sha256(data["train"].tobytes()).hexdigest()[:16],
            "torch": torch.__version__,
            "threads": 1,
            "seconds": round(time.perf_counter() - started, 1),
        },
        "history": history,
        "weights_sha256": hashlib.sha256(weights_path.read_bytes()).hexdigest(),
    }
    (args.out / "melody_vae.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {weights_path} ({weights_path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
