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


def choose_best(session: plgl.Session, card: tuple[plgl.Item, ...], direction: np.ndarray) -> None:
    """Answer a card of two or more items as a noise-free linear user: the best along
    `direction` (d,) is chosen over the others."""
    best = max(card, key=lambda item: float(item.latent @ direction))
    session.choose(best.id, [item.id for item in card if item is not best])


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


class FixedJudge:
    """A hand-built content judge whose log-odds are a table lookup by a latent's first
    coordinate (so a test sets each item's judged log-odds exactly)."""

    def __init__(self, table: dict[float, float]) -> None:
        self.table = table

    def compare(
        self, rated: np.ndarray, labels: np.ndarray, candidates: np.ndarray, pairs: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.scores(rated, labels, pairs), self.scores(candidates, labels, pairs)

    def scores(self, latents: np.ndarray, labels: np.ndarray, pairs: Any = None) -> np.ndarray:
        return np.array([self.table.get(float(z[0]), 0.0) for z in latents])


def session_with_likes(
    d: int = 4, population: bool = True, safety: Any = None
) -> tuple[plgl.Session, np.ndarray]:
    """A session whose user liked three items (3, d) along the first axis and disliked their
    opposites: the posterior ranks the likes by their first coordinate. `population`: the
    model starts from a prior with a mean (as a population's), else the isotropic one."""
    from plgl.models import GaussianPrior, LinearPreference

    mean = np.zeros(d)
    mean[1] = 0.5 if population else 0.0
    model = LinearPreference(prior=GaussianPrior(mean, np.eye(d)))
    identity = plgl.generators.get("identity", latent_dim=d)
    engine = plgl.Engine(identity, for_you="grounded", model=model, safety=safety, seed=3)
    session = engine.session("u")
    likes = np.zeros((3, d))
    likes[:, 0] = [1.0, 2.0, 3.0]
    shown = [*likes, *-likes]
    items = [plgl.records.Item(f"i{k}", z, None, "explore") for k, z in enumerate(shown)]
    engine.storage.put_items("u", items)
    for k, item in enumerate(items):
        session.tell(item.id, "like" if k < 3 else "dislike")
    return session, likes


def identity_app(tmp_path: Path, **overrides: Any) -> Any:
    """The FastAPI app over the identity domain and memory storage, data in `tmp_path`, with
    `Settings` overrides."""
    from plgl.server import Settings, create_app

    values: dict[str, Any] = {
        "domain": "identity",
        "storage": "memory://",
        "secret": "test-secret-" + "x" * 32,
        "data_dir": tmp_path,
    }
    return create_app(Settings(**(values | overrides)))


def sign_up(client: Any) -> dict[str, str]:
    """A new user of the app behind a TestClient: the Authorization header of their token."""
    response = client.post("/api/users")
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['token']}"}


def champion_of(session: plgl.Session) -> np.ndarray:
    """(d,) the session's champion, as For-you and the cards ground on it."""
    grounding = session._grounding
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    return champion
