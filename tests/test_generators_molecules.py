"""The molecule generator on its shipped weights: validity, depictions, properties."""

import functools
import hashlib
import importlib.util
import json
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from rdkit import Chem, RDConfig
from rdkit.Chem import QED, Crippen, Descriptors

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.generators.molecules import PROPERTIES, Molecule, MoleculeGenerator
from plgl.testing import GeneratorConformance


@functools.cache
def shipped() -> MoleculeGenerator:
    gen = plgl.generators.get("molecules")
    assert isinstance(gen, MoleculeGenerator)
    return gen


class TestMolecules(GeneratorConformance):
    @pytest.fixture
    def generator(self) -> Generator:
        return shipped()


def sascorer() -> ModuleType:
    """RDKit's Contrib SA scorer, loaded independently of plgl's own loading."""
    path = Path(RDConfig.RDContribDir) / "SA_Score" / "sascorer.py"
    spec = importlib.util.spec_from_file_location("test_sascorer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_prior_sample_is_a_valid_molecule() -> None:
    gen = shipped()
    molecules = gen.generate(gen.sample(100, np.random.default_rng(0)))
    for molecule in molecules:
        mol = Chem.MolFromSmiles(molecule.smiles)
        assert mol is not None and mol.GetNumAtoms() > 0, molecule
        assert Chem.MolToSmiles(mol) == molecule.smiles  # canonical


def test_prior_samples_are_mostly_unique() -> None:
    gen = shipped()
    smiles = [m.smiles for m in gen.generate(gen.sample(1000, np.random.default_rng(1)))]
    assert len(set(smiles)) / len(smiles) >= 0.95


def test_depiction_is_well_formed_svg() -> None:
    gen = shipped()
    molecule = gen.generate(gen.sample(1, np.random.default_rng(2)))[0]
    root = ET.fromstring(gen.render(molecule))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_metadata_properties_match_rdkit() -> None:
    gen = shipped()
    scorer = sascorer()
    for molecule in gen.generate(gen.sample(5, np.random.default_rng(3))):
        meta = gen.metadata(molecule)
        mol = Chem.MolFromSmiles(meta["smiles"])
        assert meta["smiles"] == molecule.smiles and meta["selfies"] == molecule.selfies
        assert meta["qed"] == pytest.approx(QED.qed(mol), abs=1e-4)
        assert meta["logp"] == pytest.approx(Crippen.MolLogP(mol), abs=1e-4)
        assert meta["sa_score"] == pytest.approx(scorer.calculateScore(mol), abs=1e-4)
        assert meta["weight"] == pytest.approx(Descriptors.MolWt(mol), abs=1e-3)
        assert meta["rings"] == mol.GetRingInfo().NumRings()


def test_features_are_the_properties_in_order() -> None:
    gen = shipped()
    molecules = gen.generate(gen.sample(4, np.random.default_rng(4)))
    features = gen.features(molecules)
    assert features.shape == (4, len(PROPERTIES)) and gen.feature_names == PROPERTIES
    for row, molecule in zip(features, molecules, strict=True):
        meta = gen.metadata(molecule)
        assert row.tolist() == [meta[name] for name in PROPERTIES]
    assert {"qed", "sa_score", "logp", "weight"} <= set(gen.feature_names)


def test_encode_gives_latents_that_decode_to_molecules() -> None:
    gen = shipped()
    latents = gen.encode(["CC(=O)Oc1ccccc1C(=O)O", "c1ccccc1"])
    assert latents.shape == (2, gen.latent_dim) and np.all(np.isfinite(latents))
    assert all(Chem.MolFromSmiles(m.smiles) is not None for m in gen.generate(latents))


def test_config_names_the_shipped_weights() -> None:
    folder = resources.files("plgl") / "weights"
    data = (folder / "molecule_vae.pt").read_bytes()
    info = json.loads((folder / "molecule_vae.json").read_text())
    assert len(data) < 5_000_000
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert shipped().config()["weights_sha256"] == info["sha256"][:16]
    assert shipped().alphabet == tuple(info["alphabet"])


def test_bad_input_is_refused() -> None:
    gen = shipped()
    with pytest.raises(InvalidInputError, match="shape"):
        gen.generate(np.zeros((2, gen.latent_dim + 1)))
    with pytest.raises(InvalidInputError, match="NaN"):
        gen.generate(np.full((1, gen.latent_dim), np.nan))
    with pytest.raises(InvalidInputError, match="SMILES"):
        gen.encode(["not a molecule("])
    with pytest.raises(InvalidInputError, match="alphabet"):
        gen.encode(["[Se][Se]"])  # selenium is not in MOSES
    with pytest.raises(InvalidInputError, match="Molecule"):
        gen.render("CCO")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="Molecule"):
        gen.features(["CCO"])
    with pytest.raises(InvalidInputError, match="not found"):
        MoleculeGenerator(weights="/nonexistent/molecule_vae.pt")


def test_content_is_a_frozen_record() -> None:
    molecule = Molecule(selfies="[C][C][O]", smiles="CCO")
    with pytest.raises(AttributeError):
        molecule.smiles = "C"  # type: ignore[misc]


def test_one_molecule_from_two_selfies_strings_has_one_content_key() -> None:
    molecules = plgl.generators.get("molecules")
    ethanol = Molecule(selfies="[C][C][O]", smiles="CCO")
    spelled_otherwise = Molecule(selfies="[O][C][C]", smiles="CCO")
    methanol = Molecule(selfies="[C][O]", smiles="CO")
    assert molecules.content_key(ethanol) == molecules.content_key(spelled_otherwise)
    assert molecules.content_key(ethanol) != molecules.content_key(methanol)
    with pytest.raises(InvalidInputError, match="Molecule record"):
        molecules.content_key("CCO")
