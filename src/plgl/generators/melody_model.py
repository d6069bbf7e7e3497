"""A MusicVAE-style melody model: bi-GRU encoder -> 16-d Gaussian latent -> GRU decoder.

Melodies are token sequences on an eighth-note grid (`STEPS` steps: two bars of 4/4):
`REST` (0), `HOLD` (1, the previous note keeps sounding) and `2 + k`, the onset of MIDI pitch
`LOWEST_PITCH + k` for k < `N_PITCHES`. The data script, the training script and the generator
share these definitions, so they live here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

REST = 0
HOLD = 1
LOWEST_PITCH = 48  # C3
N_PITCHES = 36  # C3 .. B5
VOCAB = 2 + N_PITCHES
STEPS = 16
STEPS_PER_BAR = 8
START = VOCAB  # decoder input before the first step; never an output


def fold_pitch(pitch: int) -> int:
    """A MIDI pitch moved by octaves into [LOWEST_PITCH, LOWEST_PITCH + N_PITCHES).

    >>> fold_pitch(40), fold_pitch(60), fold_pitch(90)
    (52, 60, 78)
    """
    while pitch < LOWEST_PITCH:
        pitch += 12
    while pitch >= LOWEST_PITCH + N_PITCHES:
        pitch -= 12
    return pitch


@dataclass(frozen=True)
class MelodyVAEConfig:
    """Sizes of the network; stored beside the weights."""

    latent_dim: int = 16
    embed_dim: int = 32
    encoder_hidden: int = 128
    decoder_hidden: int = 256


class MelodyVAE(nn.Module):
    """Encoder q(z | tokens) and autoregressive decoder p(tokens | z).

    >>> model = MelodyVAE(MelodyVAEConfig())
    >>> tuple(model.decode_greedy(torch.zeros(2, 16)).shape)
    (2, 16)
    """

    def __init__(self, config: MelodyVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(VOCAB + 1, config.embed_dim)
        self.encoder = nn.GRU(
            config.embed_dim, config.encoder_hidden, batch_first=True, bidirectional=True
        )
        self.to_mu = nn.Linear(2 * config.encoder_hidden, config.latent_dim)
        self.to_logvar = nn.Linear(2 * config.encoder_hidden, config.latent_dim)
        self.z_to_hidden = nn.Linear(config.latent_dim, config.decoder_hidden)
        # z also enters every decoder step, so the decoder cannot ignore it.
        self.decoder = nn.GRU(
            config.embed_dim + config.latent_dim, config.decoder_hidden, batch_first=True
        )
        self.to_logits = nn.Linear(config.decoder_hidden, VOCAB)

    def encode(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens: (n, STEPS) int64 -> (mu, logvar), each (n, latent_dim)."""
        _, last = self.encoder(self.embed(tokens))
        both = torch.cat([last[0], last[1]], dim=1)
        return self.to_mu(both), self.to_logvar(both)

    def _initial_state(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.z_to_hidden(z)).unsqueeze(0)

    def logits(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token logits: z (n, latent_dim), tokens (n, T) -> (n, T, VOCAB)."""
        start = torch.full((tokens.shape[0], 1), START, dtype=torch.long, device=tokens.device)
        previous = torch.cat([start, tokens[:, :-1]], dim=1)
        steps = previous.shape[1]
        inputs = torch.cat([self.embed(previous), z.unsqueeze(1).expand(-1, steps, -1)], dim=2)
        out, _ = self.decoder(inputs, self._initial_state(z))
        result: torch.Tensor = self.to_logits(out)
        return result

    @torch.no_grad()
    def decode_greedy(self, z: torch.Tensor, steps: int = STEPS) -> torch.Tensor:
        """Most likely token at each step given the ones before: z (n, latent_dim) -> (n, steps).

        Greedy decoding makes the melody a deterministic function of the latent.
        """
        n = z.shape[0]
        state = self._initial_state(z)
        token = torch.full((n,), START, dtype=torch.long, device=z.device)
        out = torch.empty((n, steps), dtype=torch.long, device=z.device)
        for t in range(steps):
            step_in = torch.cat([self.embed(token), z], dim=1).unsqueeze(1)
            hidden, state = self.decoder(step_in, state)
            token = self.to_logits(hidden[:, 0]).argmax(dim=1)
            out[:, t] = token
        return out


def config_dict(config: MelodyVAEConfig) -> dict[str, int]:
    """The config as JSON-native values."""
    return {key: int(value) for key, value in asdict(config).items()}


def token_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Share of equal tokens between two (n, STEPS) arrays.

    >>> token_accuracy(np.array([[0, 1]]), np.array([[0, 2]]))
    0.5
    """
    return float(np.mean(np.asarray(predicted) == np.asarray(target)))
