"""What the content judge reads: `Generator.judge_features`, the molecules' atom pairs."""

import numpy as np
import pytest
import torch

import plgl
from plgl.bench.swipers import swiper
from plgl.errors import InvalidInputError
from plgl.generators import IdentityGenerator
from plgl.generators.molecules import JUDGE_BITS, JUDGE_SCALE, judge_fingerprint
from plgl.navigation import ContentJudge


class Seen(IdentityGenerator):
    """Gaussian latents whose perceptual map is the latent itself (no judge features)."""

    def perceptual(self, latents: torch.Tensor) -> torch.Tensor:
        return latents.clone()


class FirstOnly(Seen):
    """The same perceptual map, and a judge that sees only the first coordinate."""

    def judge_features(self, latents: np.ndarray) -> np.ndarray:
        return np.asarray(latents, dtype=np.float64)[:, :1]


class Broken(Seen):
    def judge_features(self, latents: np.ndarray) -> np.ndarray:
        return np.zeros((len(latents) + 1, 2))


def _evidence(d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rated = np.random.default_rng(0).standard_normal((40, d))
    return rated, (rated[:, 1] > 0).astype(float)  # the taste is the second coordinate


def test_a_generator_without_judge_features_is_judged_by_its_perceptual_map() -> None:
    generator = Seen(latent_dim=6)
    rated, labels = _evidence()
    features = generator.judge_features(rated)
    assert features.dtype == np.float64
    np.testing.assert_allclose(features, rated, atol=1e-6)  # float32 maps, as before
    scores = ContentJudge(generator).scores(rated, labels)
    assert np.corrcoef(scores, rated[:, 1])[0, 1] > 0.8  # it sees the coordinate of the taste


def test_the_judge_reads_the_judge_features_when_offered() -> None:
    rated, labels = _evidence()
    blind = ContentJudge(FirstOnly(latent_dim=6)).scores(rated, labels)
    # Only the first coordinate and its square reach the judge: blind to the second.
    assert abs(np.corrcoef(blind, rated[:, 1])[0, 1]) < 0.5
    spread = (rated[:, :1] - rated[:, :1].mean()) ** 2
    design = np.column_stack([rated[:, 0], spread[:, 0], np.ones(40)])
    fitted = np.linalg.lstsq(design, blind, rcond=None)[0]
    np.testing.assert_allclose(design @ fitted, blind, atol=1e-6)  # a function of them alone


def test_judge_features_of_the_wrong_shape_are_refused() -> None:
    rated, labels = _evidence()
    with pytest.raises(InvalidInputError, match="judge_features"):
        ContentJudge(Broken(latent_dim=6)).scores(rated, labels)


def test_molecule_judge_features_are_atom_pair_fingerprints() -> None:
    molecules = plgl.generators.get("molecules")
    latents = molecules.sample(4, np.random.default_rng(3))
    features = molecules.judge_features(latents)
    assert features.shape == (4, JUDGE_BITS)
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features, molecules.judge_features(latents))  # deterministic
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), JUDGE_SCALE, rtol=1e-5)
    smiles = [m.smiles for m in molecules.generate(latents)]
    np.testing.assert_array_equal(features[0], judge_fingerprint(smiles[0]))
    # Not the perceptual map: the judge reads the decoded molecule, not the decoder's tokens.
    assert features.shape[1] != molecules.perceptual(torch.zeros(1, 32)).shape[1]


def test_judge_fingerprints_compare_molecules_by_structure() -> None:
    ethanol, propanol, benzene = (judge_fingerprint(s) for s in ("CCO", "CCCO", "c1ccccc1"))
    assert ethanol @ propanol > ethanol @ benzene
    assert not ethanol.flags.writeable  # cached rows are shared


def test_a_molecule_without_atoms_is_an_all_zero_row() -> None:
    assert not judge_fingerprint("").any()  # RDKit parses "" as a molecule without atoms


@pytest.mark.parametrize("smiles", ["C1CC", "not a molecule", 3])
def test_invalid_smiles_are_refused(smiles: object) -> None:
    with pytest.raises(InvalidInputError, match="SMILES"):
        judge_fingerprint(smiles)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # the matching builtin too
        judge_fingerprint(smiles)  # type: ignore[arg-type]


def test_the_profile_swiper_likes_molecules_near_its_profile() -> None:
    molecules = plgl.generators.get("molecules")
    user = swiper("molecules", "profile", molecules, seed=0, n_prior=200)
    latents = molecules.sample(200, np.random.default_rng(30_000))
    values = user.utility(latents)
    props = molecules.features(molecules.generate(latents))
    qed = props[:, 0]
    # QED counts, but not alone: the descriptor profile moves the taste too.
    assert 0.2 < np.corrcoef(values, qed)[0, 1] < 0.99
    assert np.all((values >= 0) & (values <= 2))
