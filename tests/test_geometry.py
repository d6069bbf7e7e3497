from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import Generator, IdentityGenerator, config_digest
from plgl.generators import geometry as geometry_module
from plgl.generators._base import has_perceptual
from plgl.generators.geometry import (
    generator_metric,
    pullback_metric,
    shipped_path,
)
from plgl.models import GaussianPrior, LinearPreference
from plgl.models.priors import geometry_prior, prior_covariance


class LinearImages(Generator):
    """Content = A z: a perceptual map whose pull-back metric is exactly A^T A."""

    name = "linear-images"
    modality = "vector"

    def __init__(self, matrix: np.ndarray, tag: str = "a") -> None:
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.latent_dim = self.matrix.shape[1]
        self.tag = tag

    def generate(self, latents: np.ndarray) -> list[Any]:
        return list(np.asarray(latents) @ self.matrix.T)

    def _render(self, content: Any, media_type: str) -> bytes:
        return b"<svg/>"

    def perceptual(self, latents: torch.Tensor) -> torch.Tensor:
        return latents @ torch.as_tensor(self.matrix, dtype=latents.dtype).T

    def config(self) -> dict[str, Any]:
        return super().config() | {"tag": self.tag}


@pytest.fixture
def linear() -> LinearImages:
    return LinearImages(np.random.default_rng(0).standard_normal((7, 4)))


def test_the_metric_of_a_linear_map_is_its_gram_matrix(linear: LinearImages) -> None:
    metric = pullback_metric(linear, n_samples=20)
    np.testing.assert_allclose(metric, linear.matrix.T @ linear.matrix, rtol=1e-5, atol=1e-5)


def test_identity_has_no_perceptual_map_and_keeps_no_metric(tmp_path: Path) -> None:
    identity = IdentityGenerator(3)
    assert not has_perceptual(identity)
    assert generator_metric(identity, tmp_path) is None
    with pytest.raises(InvalidInputError, match="perceptual map"):
        pullback_metric(identity)
    assert list(tmp_path.iterdir()) == []


def test_the_metric_is_cached_by_config_digest(
    linear: LinearImages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = generator_metric(linear, tmp_path)
    assert first is not None
    assert [p.name for p in tmp_path.iterdir()] == [f"geometry-{config_digest(linear)}.npy"]

    def fail(*args: Any, **kwargs: Any) -> np.ndarray:
        raise AssertionError("a cached metric was computed again")

    monkeypatch.setattr(geometry_module, "pullback_metric", fail)
    np.testing.assert_allclose(generator_metric(linear, tmp_path), first, rtol=1e-6)
    other = LinearImages(linear.matrix, tag="b")  # another configuration: another key
    assert generator_metric(other, tmp_path, compute=False) is None
    monkeypatch.undo()
    assert generator_metric(other, tmp_path) is not None
    assert len(list(tmp_path.iterdir())) == 2


def test_prior_covariance_keeps_todays_decisiveness() -> None:
    metric = np.diag([100.0, 1.0, 1.0, 0.0])
    cov = prior_covariance(metric, scale=4.0, floor=0.1)
    # E[(w . z)^2] = trace for z ~ N(0, I): 16, as with the isotropic 4 / sqrt(d).
    assert np.trace(cov) == pytest.approx(16.0)
    assert np.all(np.linalg.eigvalsh(cov) > 0)  # the floor: no direction impossible
    assert cov[0, 0] > 20 * cov[1, 1]
    rng = np.random.default_rng(0)
    w = rng.multivariate_normal(np.zeros(4), cov, size=20_000)
    z = rng.standard_normal((20_000, 4))
    assert np.std((w * z).sum(axis=1)) == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize(
    ("metric", "scale", "floor"),
    [
        (np.ones(3), 4.0, 0.1),
        (np.zeros((2, 2)), 4.0, 0.1),
        (np.eye(2), -1.0, 0.1),
        (np.eye(2), 4.0, 2.0),
    ],
)
def test_prior_covariance_rejects_bad_input(metric: np.ndarray, scale: float, floor: float) -> None:
    with pytest.raises(InvalidInputError):
        prior_covariance(metric, scale, floor)


@pytest.mark.parametrize(
    ("name", "width"), [("faces", 768), ("melodies", 608), ("molecules", 1377)]
)
def test_builtin_perceptual_maps_are_differentiable(name: str, width: int) -> None:
    generator = plgl.generators.get(name)
    latents = torch.as_tensor(
        generator.sample(3, np.random.default_rng(0)), dtype=torch.float32
    ).requires_grad_(True)
    out = generator.perceptual(latents)
    assert out.shape == (3, width) and torch.all(torch.isfinite(out))
    out.sum().backward()
    assert latents.grad is not None and float(latents.grad.abs().sum()) > 0
    with pytest.raises(InvalidInputError):
        generator.perceptual(torch.zeros(2, generator.latent_dim + 1))


@pytest.mark.parametrize("name", ["faces", "melodies", "molecules"])
def test_builtin_metrics_are_shipped_and_anisotropic(name: str) -> None:
    generator = plgl.generators.get(name)
    assert shipped_path(generator).is_file()
    metric = generator_metric(generator, compute=False)
    assert metric is not None and metric.shape == (generator.latent_dim,) * 2
    values = np.linalg.eigvalsh(metric)
    assert values.min() > -1e-6 * values.max()
    assert values.max() > 10 * np.median(values)  # far from isotropic (Wang & Ponce 2021)


def test_the_shipped_melody_metric_is_reproducible() -> None:
    generator = plgl.generators.get("melodies")
    shipped = generator_metric(generator, compute=False)
    np.testing.assert_allclose(pullback_metric(generator), shipped, rtol=1e-3, atol=1e-4)


def test_geometry_prior_shapes_the_linear_model(tmp_path: Path) -> None:
    melodies = plgl.generators.get("melodies")
    prior = geometry_prior(melodies, cache_dir=tmp_path)
    assert isinstance(prior, GaussianPrior)
    np.testing.assert_array_equal(prior.mean, np.zeros(16))
    assert np.trace(prior.covariance) == pytest.approx(16.0)  # as decisive as 4 / sqrt(d)
    model = LinearPreference(prior=prior).start(16)
    np.testing.assert_allclose(model.weight_covariance(), prior.covariance)
    assert list(tmp_path.iterdir()) == []  # the shipped metric was used


def test_geometry_prior_of_identity_is_todays_isotropic_prior(tmp_path: Path) -> None:
    prior = geometry_prior(IdentityGenerator(9), cache_dir=tmp_path)
    default = LinearPreference().start(9)
    np.testing.assert_allclose(prior.covariance, default.weight_covariance())


def test_geometry_prior_without_computing_is_isotropic_until_cached(
    linear: LinearImages, tmp_path: Path
) -> None:
    lazy = geometry_prior(linear, cache_dir=tmp_path, compute=False)
    np.testing.assert_allclose(lazy.covariance, np.eye(4) * 4.0)  # (4 / sqrt(4))^2
    shaped = geometry_prior(linear, cache_dir=tmp_path)
    assert not np.allclose(shaped.covariance, lazy.covariance)
    np.testing.assert_allclose(
        geometry_prior(linear, cache_dir=tmp_path, compute=False).covariance, shaped.covariance
    )
