"""Shared test helpers."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import plgl


def rate(session: plgl.Session, direction: np.ndarray, n: int, batch: int = 10) -> None:
    """Noiseless user: likes items on the positive side of `direction`."""
    while session.n_ratings < n:
        for item in session.ask(batch):
            session.tell(item.id, "like" if item.latent @ direction > 0 else "dislike")


def rate_more(session: plgl.Session, w: np.ndarray, n: int, batch: int = 10) -> None:
    """`n` more ratings by a noiseless linear user of taste `w` (like when <w, z> > 0)."""
    while n > 0:
        for item in session.ask(min(batch, n)):
            session.tell(item.id, "like" if float(item.latent @ w) > 0 else "dislike")
            n -= 1


def two_taste_population(folder: Path) -> str:
    """URL of a SQLite storage in `folder` with 24 users of two tastes (even ones opted in to
    matching), refreshed without noise by `plgl population refresh`."""
    from plgl.cli import main

    url = f"sqlite:///{folder / 'plgl.db'}"
    generator = plgl.generators.IdentityGenerator()
    with plgl.Engine(generator=generator, storage=url, seed=0) as engine:
        for user in range(24):
            s = engine.session(f"u{user}")
            s.set_matching(user % 2 == 0)
            axis = np.eye(generator.latent_dim)[user % 2]
            for item in s.ask(20):
                s.tell(item.id, "like" if item.latent @ axis > 0 else "dislike")
    args = ["population", "refresh", "--storage", url, "--epsilon", "none", "--min-users", "10"]
    assert main(args) == 0
    return url


def count_perceptual(monkeypatch: pytest.MonkeyPatch, generator: Any) -> list[int]:
    """The rows of each `generator.perceptual` call from now on (the list grows as it is
    called): how many perceptual maps were computed."""
    rows: list[int] = []
    perceptual = generator.perceptual

    def counting(latents: torch.Tensor) -> torch.Tensor:
        rows.append(len(latents))
        return perceptual(latents)

    monkeypatch.setattr(generator, "perceptual", counting)
    return rows


def perceptual_melodies() -> Any:
    """The melodies generator with its content judge reading the perceptual map (the judge
    before the musician's features): for tests that count the perceptual maps a judge makes,
    or the content it decodes besides them."""
    from plgl.generators import Generator
    from plgl.generators.melodies import MelodyGenerator

    class PerceptualMelodies(MelodyGenerator):
        def judge_features(self, latents: np.ndarray) -> np.ndarray:
            return Generator.judge_features(self, latents)

    return PerceptualMelodies()
