"""A SELFIES variational autoencoder: token sequences <-> a Gaussian latent.

Every SELFIES string decodes to a valid molecule, so every latent the decoder reaches is a molecule.
The decoder sees the latent at every step (not only as its first state), which keeps it from
ignoring the latent (posterior collapse) once it has learned the grammar.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


def _strided(length: int) -> int:
    """Length after a kernel-5, padding-2, stride-2 convolution."""
    return (length - 1) // 2 + 1


@dataclass(frozen=True)
class MoleculeVAEConfig:
    """Sizes of the model; stored beside the weights."""

    vocab_size: int
    max_len: int
    latent_dim: int = 32
    embed_dim: int = 48
    hidden_dim: int = 192
    conv_channels: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MoleculeVAE(nn.Module):
    """Convolutional encoder -> z (latent_dim,), N(0, I) prior -> GRU decoder of SELFIES tokens.

    Token 0 is the padding symbol "[nop]"; the decoder's first input is a learned start token
    (index vocab_size).
    """

    def __init__(self, config: MoleculeVAEConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size + 1, c.embed_dim)
        # Convolutions over the sequence cost a fraction of a recurrent encoder on one CPU core.
        self.encoder = nn.Sequential(
            nn.Conv1d(c.embed_dim, c.conv_channels, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.Conv1d(c.conv_channels, c.conv_channels, kernel_size=5, padding=2, stride=2),
            nn.ReLU(),
            nn.Conv1d(c.conv_channels, c.conv_channels, kernel_size=5, padding=2, stride=2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c.conv_channels * _strided(_strided(c.max_len)), c.hidden_dim),
            nn.ReLU(),
        )
        self.to_stats = nn.Linear(c.hidden_dim, 2 * c.latent_dim)
        self.to_hidden = nn.Linear(c.latent_dim, c.hidden_dim)
        self.decoder = nn.GRU(c.embed_dim + c.latent_dim, c.hidden_dim, batch_first=True)
        self.to_logits = nn.Linear(c.hidden_dim, c.vocab_size)

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens (n, max_len) int64 -> mean and log-variance, each (n, latent_dim)."""
        stats = self.to_stats(self.encoder(self.embed(tokens).transpose(1, 2)))
        mean, logvar = stats.chunk(2, dim=1)
        return mean, logvar

    def logits(self, z: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (n, max_len, vocab_size) for decoder inputs (n, max_len) int64."""
        steps = inputs.shape[1]
        x = torch.cat([self.embed(inputs), z.unsqueeze(1).expand(-1, steps, -1)], dim=2)
        out, _ = self.decoder(x, torch.tanh(self.to_hidden(z)).unsqueeze(0))
        logits: torch.Tensor = self.to_logits(out)
        return logits

    def start_tokens(self, n: int, device: torch.device | None = None) -> torch.Tensor:
        """(n, 1) int64 start symbols, on `device` (None: the CPU)."""
        return torch.full((n, 1), self.config.vocab_size, dtype=torch.long, device=device)

    @torch.no_grad()
    def greedy(self, z: torch.Tensor) -> torch.Tensor:
        """The most likely token at each step (deterministic per latent): (n, max_len) int64.

        The first padding token ends a molecule: everything after it is padding too.
        """
        n = z.shape[0]
        hidden = torch.tanh(self.to_hidden(z)).unsqueeze(0)
        token = self.start_tokens(n, z.device)
        done = torch.zeros((n, 1), dtype=torch.bool, device=z.device)
        out = torch.zeros((n, self.config.max_len), dtype=torch.long, device=z.device)
        for i in range(self.config.max_len):
            x = torch.cat([self.embed(token), z.unsqueeze(1)], dim=2)
            step, hidden = self.decoder(x, hidden)
            token = self.to_logits(step).argmax(dim=2).masked_fill(done, 0)
            out[:, i] = token[:, 0]
            done |= token == 0
            if bool(done.all()):
                break
        return out
