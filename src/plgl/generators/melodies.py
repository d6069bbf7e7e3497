"""Two-bar folk melodies from a MusicVAE-style model trained on music21's folk corpus.

The weights ship in the package (`plgl/weights/melody_vae.pt`, made by
`scripts/train_melody_vae.py`); nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, NamedTuple

import numpy as np
import torch

from plgl import validation
from plgl.errors import InvalidInputError
from plgl.generators._base import Generator
from plgl.generators._device import OnDevice, full_float32, resolve_device
from plgl.generators.melody_judge import JUDGE_LENGTH, JUDGE_SCALE, judge_row
from plgl.generators.melody_model import (
    HOLD,
    LOWEST_PITCH,
    REST,
    STEPS,
    STEPS_PER_BAR,
    VOCAB,
    MelodyVAE,
    MelodyVAEConfig,
)
from plgl.generators.melody_render import midi_bytes, piano_roll_png, wav_bytes

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Krumhansl & Kessler's probe-tone ratings of the 12 pitch classes above a major / minor tonic.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Decoding runs in blocks of this many rows (padded), so that a latent's melody never depends on
# which other latents share its call: matrix kernels can round differently for other shapes.
_BLOCK = 32


def pitch_name(pitch: int) -> str:
    """Scientific pitch name of a MIDI pitch: 60 is "C4".

    >>> pitch_name(66)
    'F#4'
    """
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


class Note(NamedTuple):
    """One note: MIDI pitch, start step and duration in steps (a step is an eighth note)."""

    pitch: int
    start: int
    duration: int


@dataclass(frozen=True)
class Melody:
    """Two bars of melody: the model's tokens and the notes they spell.

    >>> Melody.from_tokens([14, 1, 16, 0] + [0] * 12).notes
    (Note(pitch=60, start=0, duration=2), Note(pitch=62, start=2, duration=1))
    """

    tokens: tuple[int, ...]  # (STEPS,): 0 rest, 1 hold, 2 + k onset of pitch LOWEST_PITCH + k
    notes: tuple[Note, ...]

    @classmethod
    def from_tokens(cls, tokens: Sequence[int] | np.ndarray) -> Melody:
        """The melody of `tokens` (STEPS,); a hold with no note before it is a rest."""
        values = [int(t) for t in np.asarray(tokens).reshape(-1)]
        if len(values) != STEPS or not all(0 <= t < VOCAB for t in values):
            raise InvalidInputError(
                f"melody tokens must be {STEPS} ints in [0, {VOCAB}), got {list(tokens)!r}"
            )
        notes: list[Note] = []
        for step, token in enumerate(values):
            if token >= 2:
                notes.append(Note(LOWEST_PITCH + token - 2, step, 1))
            elif token == HOLD and notes and notes[-1].start + notes[-1].duration == step:
                notes[-1] = notes[-1]._replace(duration=notes[-1].duration + 1)
        return cls(tuple(values), tuple(notes))

    def note_names(self) -> str:
        """The pitches by name, e.g. "D4 F#4 A4"."""
        return " ".join(pitch_name(pitch) for pitch, _, _ in self.notes)


FEATURE_NAMES = ("register", "range", "note_density", "stepwise", "leaps", "major", "rests")


def melody_features(melody: Melody) -> np.ndarray:
    """(7,) traits in `FEATURE_NAMES` order.

    register: mean MIDI pitch of the notes (66, mid-range, when there are none); range: highest
    minus lowest pitch in semitones; note_density: notes per bar; stepwise: share of moves
    between consecutive notes of one or two semitones; leaps: share of moves of five or more;
    major: how much better the best major key fits the pitch classes (weighted by duration)
    than the best minor key (Krumhansl-Kessler profiles, a correlation difference in [-2, 2]);
    rests: share of the steps that are silent.

    >>> melody_features(Melody.from_tokens([14, 16, 18, 19] + [1] * 12)).round(2).tolist()
    [62.75, 5.0, 2.0, 1.0, 0.0, 0.03, 0.0]
    """
    pitches = np.array([n.pitch for n in melody.notes], dtype=np.float64)
    durations = np.array([n.duration for n in melody.notes], dtype=np.float64)
    moves = np.abs(np.diff(pitches))
    sounding = int(durations.sum())
    return np.array(
        [
            pitches.mean() if len(pitches) else LOWEST_PITCH + 18.0,
            np.ptp(pitches) if len(pitches) else 0.0,
            len(pitches) * STEPS_PER_BAR / STEPS,
            np.mean((moves >= 1) & (moves <= 2)) if len(moves) else 0.0,
            np.mean(moves >= 5) if len(moves) else 0.0,
            _major_minus_minor(pitches, durations),
            (STEPS - sounding) / STEPS,
        ]
    )


def _major_minus_minor(pitches: np.ndarray, durations: np.ndarray) -> float:
    histogram = np.bincount(pitches.astype(np.int64) % 12, weights=durations, minlength=12)
    if np.count_nonzero(histogram) < 2:
        return 0.0  # one pitch class fits every key alike
    best = []
    for profile in (MAJOR_PROFILE, MINOR_PROFILE):
        keys = np.stack([np.roll(profile, tonic) for tonic in range(12)])
        best.append(max(float(np.corrcoef(histogram, key)[0, 1]) for key in keys))
    return best[0] - best[1]


def load_model(weights: Traversable | None = None) -> tuple[MelodyVAE, str]:
    """The model in eval mode from the folder `weights` (None: the shipped one, in the
    package), and the sha256 of its weights file."""
    weights = resources.files("plgl") / "weights" if weights is None else weights
    raw = (weights / "melody_vae.pt").read_bytes()
    config = MelodyVAEConfig(**json.loads((weights / "melody_vae.json").read_text())["config"])
    model = MelodyVAE(config)
    model.load_state_dict(torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True))
    model.eval()
    return model, hashlib.sha256(raw).hexdigest()


class MelodyGenerator(OnDevice, Generator):
    """Two-bar melodies (16 eighth notes) decoded greedily from a 16-d latent.

    Args:
        tempo_bpm: playback speed of the rendered audio and MIDI.
        device: where the model runs: "cpu", "cuda" or "cuda:N" (melodies are the same on
            either, up to float32 rounding at a near-tie between two tokens).

    >>> gen = MelodyGenerator()
    >>> melody = gen.generate(np.zeros((1, 16)))[0]
    >>> len(melody.tokens), gen.render(melody)[:4]
    (16, b'RIFF')
    """

    name = "melodies"
    modality = "audio"
    # A VAE decodes well where its KL-regularized posterior put mass: within ~3 standard
    # deviations along any one direction.
    reach = 3.0
    media_types = ("audio/wav", "audio/midi", "image/png")
    feature_names = FEATURE_NAMES
    judge_scale = JUDGE_SCALE  # the weight of each block of `judge_features`' rows

    def __init__(self, tempo_bpm: float = 100.0, *, device: str = "cpu") -> None:
        self.device = resolve_device(device)
        if (
            isinstance(tempo_bpm, bool)
            or not isinstance(tempo_bpm, int | float)
            or not 30.0 <= tempo_bpm <= 300.0
        ):
            raise InvalidInputError(f"tempo_bpm must be a number in [30, 300], got {tempo_bpm!r}")
        self.tempo_bpm = float(tempo_bpm)
        model, self._weights_sha256 = load_model()
        self._model = model.to(self.device)
        self.latent_dim = self._model.config.latent_dim

    def generate(self, latents: np.ndarray) -> list[Melody]:
        """A melody for each row of `latents` (n, 16)."""
        z = validation.latents("latents", latents, self.latent_dim).astype(np.float32)
        blocks = []
        for first in range(0, len(z), _BLOCK):
            block = np.zeros((_BLOCK, self.latent_dim), dtype=np.float32)
            rows = z[first : first + _BLOCK]
            block[: len(rows)] = rows
            with full_float32(self.device):
                tokens = self._model.decode_greedy(self._tensor(block))
            blocks.append(tokens.cpu().numpy()[: len(rows)])
        return [Melody.from_tokens(tokens) for tokens in np.concatenate(blocks)]

    def perceptual(self, latents: torch.Tensor) -> torch.Tensor:
        """(n, 16 * 38) a soft piano roll of the melodies of latents (n, 16), flat.

        Row t of a melody's roll is the decoder's probability of each token (rest, hold, each of
        the 36 pitches) at step t, given the greedy melody's earlier steps: the melody itself
        where the decoder is sure, a blend where it hesitates, and differentiable in the latent
        (the greedy tokens are held fixed; they only change where the latent crosses a boundary).
        """
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise InvalidInputError(f"latents must be (n, {self.latent_dim}) tensors")
        z = latents.float().to(self.device)
        with full_float32(self.device):
            tokens = self._model.decode_greedy(z.detach())
            probs = torch.softmax(self._model.logits(z, tokens), dim=-1)
            return probs.flatten(1).to(latents)

    def judge_features(self, latents: np.ndarray) -> np.ndarray:
        """(n, 59) float64 `judge_row` of the melody of each latent (n, 16): its contour,
        register, rhythm, pitch classes, intervals and durations.

        Not the perceptual map: the judge picks the best of a champion's neighbours, and on
        the melody swipers these features followed their taste there better than the decoder's
        soft tokens did (see docs/learning.md).
        """
        rows = [judge_row(melody.notes, self.judge_scale) for melody in self.generate(latents)]
        return np.array(rows, dtype=np.float64).reshape(len(rows), JUDGE_LENGTH)

    def _render(self, content: Melody, media_type: str) -> bytes:
        melody = self._check(content)
        if media_type == "audio/wav":
            return wav_bytes(melody.notes, self.tempo_bpm)
        if media_type == "audio/midi":
            return midi_bytes(melody.notes, self.tempo_bpm)
        return piano_roll_png(melody.notes)

    def metadata(self, content: Melody) -> dict[str, Any]:
        melody = self._check(content)
        score = [
            "." if t == REST else "-" if t == HOLD else pitch_name(LOWEST_PITCH + t - 2)
            for t in melody.tokens
        ]
        return {
            "notes": melody.note_names(),
            "score": " ".join(score),
            "tokens": list(melody.tokens),
            "tempo_bpm": self.tempo_bpm,
            "seconds": STEPS * 30.0 / self.tempo_bpm,
        }

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        """(n, 7) traits named by `feature_names` (see `melody_features`)."""
        rows = [melody_features(self._check(content)) for content in contents]
        return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "tempo_bpm": self.tempo_bpm,
            "weights_sha256": self._weights_sha256,
        }

    def _check(self, content: Any) -> Melody:
        if not isinstance(content, Melody):
            raise InvalidInputError(f"expected a Melody, got {type(content).__name__}")
        return content
