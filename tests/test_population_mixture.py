"""The mixture prior: one component per released cluster, the broad prior and the from-scratch
prior, and the model that learns which component a new user is in (`plgl.population.mixture`,
`plgl.models.mixture`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import rate_more

import plgl
from plgl.errors import InvalidInputError
from plgl.models import GaussianPrior, LinearPreference
from plgl.models.mixture import REFINE_EVERY, MixturePreference, MixturePrior
from plgl.population import Population, UserTaste
from plgl.population.mixture import SCRATCH, mixture_prior
from plgl.testing import OnlineModelConformance

D = 24
CENTRES = np.linalg.qr(np.random.default_rng(7).standard_normal((D, 3)))[0].T  # 3 unit centres


def hand_built(d: int = 6) -> MixturePrior:
    """A broad component and two tight ones at +-3 e_0."""
    broad = GaussianPrior.isotropic(d, 4.0 / np.sqrt(d))
    tight = [GaussianPrior(3.0 * s * np.eye(d)[0], 0.05 * np.eye(d)) for s in (1.0, -1.0)]
    return MixturePrior((broad, *tight), np.array([0.2, 0.4, 0.4]))


class TestMixtureModel(OnlineModelConformance):
    @pytest.fixture
    def model(self) -> MixturePreference:
        return MixturePreference(mixture=hand_built())

    @pytest.fixture
    def latents(self) -> np.ndarray:
        return np.random.default_rng(0).standard_normal((40, 6))


class TestMixtureModelMap(TestMixtureModel):
    @pytest.fixture
    def model(self) -> MixturePreference:
        return MixturePreference(mixture=hand_built(), switch="map")


def answers(model: MixturePreference, w: np.ndarray, n: int, seed: int) -> MixturePreference:
    """`n` answers of a linear user of taste w (like when <w, z> > 0) on random latents."""
    rng = np.random.default_rng(seed)
    for z in rng.standard_normal((n, len(w))):
        model.learn(z, float(z @ w > 0))
    return model


def test_evidence_picks_the_component_of_the_answers() -> None:
    model = answers(MixturePreference(mixture=hand_built()).start(6), -np.eye(6)[0], 20, 0)
    assert model.responsibilities_[2] > 0.95
    assert model.coef_[0] < -1.0  # the model's posterior follows the chosen component


def test_one_component_is_the_linear_model() -> None:
    prior = GaussianPrior(np.full(4, 0.3), 0.5 * np.eye(4))
    single = MixturePreference(mixture=MixturePrior((prior,), np.ones(1))).start(4)
    linear = LinearPreference(prior=prior, change_threshold=None).start(4)
    z = np.random.default_rng(1).standard_normal((15, 4))
    for i, row in enumerate(z, start=1):
        for model in (single, linear):
            model.learn(row, float(row.sum() > 0))
        if i == REFINE_EVERY:  # the mixture refines its components itself, at fixed counts
            linear.refine()
    assert not single.refine()
    np.testing.assert_allclose(single.mean_, linear.mean_)
    np.testing.assert_allclose(single.covariance_, linear.covariance_)


def test_batch_fit_weighs_components_by_laplace_evidence() -> None:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 6))
    model = MixturePreference(mixture=hand_built()).fit(X, (X[:, 0] > 0).astype(int))
    assert model.responsibilities_[1] > 0.95


def population(**options: object) -> Population:
    """A population of 300 users in three taste clusters, refreshed without noise."""
    rng = np.random.default_rng(1)
    tastes = []
    for i in range(300):
        w = CENTRES[i % 3] + 0.15 * rng.standard_normal(D) / np.sqrt(D)
        tastes.append(UserTaste(f"u{i}", 6.0 * w / np.linalg.norm(w), np.full(D, 0.01)))
    pop = Population(epsilon=None, max_rank=3, **options)  # type: ignore[arg-type]
    pop.refresh(tastes)
    return pop


@pytest.fixture(scope="module")
def pop() -> Population:
    return population()


def test_a_new_user_moves_to_their_clusters_component(pop: Population) -> None:
    mixture = pop.mixture_prior()
    assert mixture is not None and len(mixture.components) == 2 + len(pop.clusters()) == 5
    for centre in CENTRES:
        # The component whose mean points at this centre is the one to end on.
        cosines = [c.mean @ centre / np.linalg.norm(c.mean) for c in mixture.components[1:4]]
        right = 1 + int(np.argmax(cosines))
        model = MixturePreference(mixture=mixture).start(D)
        answers(model, centre, 40, 3)
        assert int(np.argmax(model.responsibilities_)) == right
        assert model.responsibilities_[right] > 0.9


def test_a_user_unlike_anyone_ends_on_the_scratch_component(pop: Population) -> None:
    mixture = pop.mixture_prior()
    assert mixture is not None
    unlike = np.linalg.svd(CENTRES)[2][-1]  # orthogonal to every centre
    model = answers(MixturePreference(mixture=mixture).start(D), unlike, 60, 4)
    assert int(np.argmax(model.responsibilities_)) == 4
    assert model.responsibilities_[4] > 0.9
    # Without the from-scratch component, the broad one explains them.
    broad_only = population(scratch=0.0).mixture_prior()
    assert broad_only is not None and len(broad_only.components) == 4
    model = answers(MixturePreference(mixture=broad_only).start(D), unlike, 60, 4)
    assert int(np.argmax(model.responsibilities_)) == 0
    assert model.responsibilities_[0] > 0.9


def test_the_scratch_component_is_the_from_scratch_prior(pop: Population) -> None:
    with_scratch, without = pop.mixture_prior(), population(scratch=0.0).mixture_prior()
    assert with_scratch is not None and without is not None
    scratch = with_scratch.components[-1]
    np.testing.assert_allclose(scratch.mean, np.zeros(D))
    np.testing.assert_allclose(scratch.covariance, (4.0 / np.sqrt(D)) ** 2 * np.eye(D))
    np.testing.assert_allclose(with_scratch.weights[-1], SCRATCH)
    np.testing.assert_allclose(with_scratch.weights[:-1], (1 - SCRATCH) * without.weights)
    for a, b in zip(with_scratch.components, without.components, strict=False):
        np.testing.assert_allclose(a.covariance, b.covariance)
    wider = population(isotropic_scale=2.0, scratch=0.1).mixture_prior()
    assert wider is not None
    np.testing.assert_allclose(wider.components[-1].covariance, 4.0 * np.eye(D))
    np.testing.assert_allclose(wider.weights[-1], 0.1)


def test_isotropic_users_learn_faster_with_the_scratch_component(pop: Population) -> None:
    """Users drawn from the from-scratch prior: after 30 answers the mixture with the
    from-scratch component points closer to their taste than the mixture without it."""
    without = population(scratch=0.0).mixture_prior()

    def cosine(mixture: MixturePrior | None, w: np.ndarray) -> float:
        coef = answers(MixturePreference(mixture=mixture).start(D), w, 30, 4).coef_
        return float(coef @ w / np.linalg.norm(coef) / np.linalg.norm(w))

    users = [4.0 / np.sqrt(D) * np.random.default_rng(s).standard_normal(D) for s in range(5)]
    now = np.mean([cosine(pop.mixture_prior(), w) for w in users])
    before = np.mean([cosine(without, w) for w in users])
    assert now > before + 0.03


def test_model_state_round_trips_through_json(pop: Population) -> None:
    mixture = pop.mixture_prior()
    model = answers(MixturePreference(mixture=mixture).start(D), CENTRES[0], 25, 5)
    text = json.dumps({key: value.tolist() for key, value in model.get_state().items()})
    twin = MixturePreference(mixture=mixture).set_state(
        {key: np.asarray(value) for key, value in json.loads(text).items()}
    )
    z = np.random.default_rng(6).standard_normal((10, D))
    np.testing.assert_allclose(twin.decision_function(z), model.decision_function(z))
    np.testing.assert_allclose(twin.responsibilities_, model.responsibilities_)
    for learner in (model, twin):
        learner.learn(z[0], 1.0)
    np.testing.assert_allclose(twin.log_evidence_, model.log_evidence_)


def test_population_state_round_trips_the_mixture(pop: Population) -> None:
    twin = Population(epsilon=None, max_rank=3).set_state(json.loads(json.dumps(pop.get_state())))
    before, after = pop.mixture_prior(), twin.mixture_prior()
    assert before is not None and after is not None
    np.testing.assert_allclose(after.weights, before.weights)
    for a, b in zip(after.components, before.components, strict=True):
        np.testing.assert_allclose(a.mean, b.mean)
        np.testing.assert_allclose(a.covariance, b.covariance)


def test_the_setting_keeps_the_single_gaussian_beside_the_scratch_prior() -> None:
    single = population(mixture=False)
    two = single.new_user_prior()
    gaussian, scratch = single.prior(), single.mixture_prior()
    assert isinstance(two, MixturePrior) and gaussian is not None and scratch is not None
    # The single Gaussian and the from-scratch prior, at the mixture prior's scratch weight.
    assert len(two.components) == 2
    np.testing.assert_allclose(two.weights, [1 - SCRATCH, SCRATCH])
    np.testing.assert_allclose(two.components[0].covariance, gaussian.covariance)
    np.testing.assert_allclose(two.components[1].covariance, scratch.components[-1].covariance)
    # Without the from-scratch component it is the single Gaussian (for LinearPreference).
    assert isinstance(population(mixture=False, scratch=0.0).new_user_prior(), GaussianPrior)
    assert isinstance(population().new_user_prior(), MixturePrior)
    assert single.new_user_prior(mixture=True) is not None
    with pytest.raises(InvalidInputError, match="mixture must be True, False or None"):
        single.new_user_prior(mixture="no")  # type: ignore[arg-type]


def test_a_user_unlike_anyone_falls_back_on_scratch_without_clusters() -> None:
    """`mixture=False`: a user orthogonal to every centre ends on the from-scratch component,
    and 30 answers point them closer to their taste than the single Gaussian does."""
    single = population(mixture=False)
    two, gaussian = single.new_user_prior(), single.prior()
    assert isinstance(two, MixturePrior) and gaussian is not None
    unlike = np.linalg.svd(CENTRES)[2][-1]
    model = answers(MixturePreference(mixture=two).start(D), unlike, 60, 4)
    assert model.responsibilities_[1] > 0.8  # from 0.1 before any answer

    def cosine(model: LinearPreference, w: np.ndarray) -> float:
        rng = np.random.default_rng(4)
        for z in rng.standard_normal((30, D)):
            model.learn(z, float(z @ w > 0))
        return float(model.coef_ @ w / np.linalg.norm(model.coef_) / np.linalg.norm(w))

    users = [4.0 / np.sqrt(D) * np.random.default_rng(s).standard_normal(D) for s in range(5)]
    now = np.mean([cosine(MixturePreference(mixture=two).start(D), w) for w in users])
    before = np.mean([cosine(LinearPreference(prior=gaussian).start(D), w) for w in users])
    assert now > before + 0.03


@pytest.mark.parametrize(("mixture", "scratch"), [(True, SCRATCH), (False, 0.0), (False, 0.1)])
def test_engine_sessions_start_from_the_setting(
    mixture: bool, scratch: float, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    mixed = mixture or scratch > 0  # the model is a mixture unless it is one Gaussian

    def engine() -> plgl.Engine:
        population = Population(
            epsilon=None, min_users=20, max_rank=3, mixture=mixture, scratch=scratch
        )
        generator = plgl.generators.get("identity", latent_dim=D)
        return plgl.Engine(generator=generator, storage=url, seed=0, population=population)

    with engine() as eng:
        rng = np.random.default_rng(8)
        for user in range(30):
            w = CENTRES[user % 3] + 0.15 * rng.standard_normal(D) / np.sqrt(D)
            rate_more(eng.session(f"u{user:03d}"), w, 20)
        assert eng.population is not None
        eng.population.refresh()
        new = eng.session("new")
        model = new.model  # type: ignore[attr-defined]
        assert isinstance(model, MixturePreference) is mixed
        assert isinstance(model, LinearPreference)
        prior = eng.population.prior()
        expected = prior.moment_matched() if isinstance(prior, MixturePrior) else prior
        assert expected is not None
        np.testing.assert_allclose(model.coef_, expected.mean)
        rate_more(new, CENTRES[1], 60)  # learns through the session; a snapshot is due at 50
        coef = np.array(new.model.coef_)  # type: ignore[attr-defined]
    with engine() as again:  # resumed in a new process, from its snapshot and events
        resumed = again.session("new").model
        assert isinstance(resumed, MixturePreference) is mixed
        if mixed:  # it refines at fixed answer counts: a replay is the live model exactly
            np.testing.assert_allclose(resumed.coef_, coef, atol=1e-9)  # type: ignore[attr-defined]


def test_bad_input_is_refused() -> None:
    good = GaussianPrior.isotropic(3, 1.0)
    with pytest.raises(InvalidInputError, match="share one dimension"):
        MixturePrior((good, GaussianPrior.isotropic(4, 1.0)), np.ones(2))
    with pytest.raises(InvalidInputError, match="finite and > 0"):
        MixturePrior((good, good), np.array([1.0, -1.0]))
    with pytest.raises(InvalidInputError, match="one per component"):
        MixturePrior((good, good), np.ones(3))
    with pytest.raises(InvalidInputError, match="one or more"):
        MixturePrior((), np.ones(0))
    mixture = MixturePrior((good, good), np.ones(2))
    with pytest.raises(InvalidInputError, match="not both"):
        MixturePreference(prior=good, mixture=mixture).start(3)
    with pytest.raises(InvalidInputError, match="switch"):
        MixturePreference(mixture=mixture, switch="mean").start(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="latents have 5"):
        MixturePreference(mixture=mixture).start(5)
    with pytest.raises(InvalidInputError, match="MixturePrior"):
        MixturePreference(mixture=[good]).start(3)  # type: ignore[arg-type]
    state = MixturePreference(mixture=mixture).start(3).get_state()
    three = MixturePrior((good, good, good), np.ones(3))
    with pytest.raises(InvalidInputError, match="3 components"):
        MixturePreference(mixture=three).set_state(state)
    with pytest.raises(InvalidInputError, match="malformed"):
        MixturePreference(mixture=mixture).set_state({})
    with pytest.raises(InvalidInputError, match="mixture must be True or False"):
        Population(mixture="yes")  # type: ignore[arg-type]
    for scratch in (1.0, -0.1, True, "0.2"):
        with pytest.raises(InvalidInputError, match=r"scratch must be in \[0, 1\)"):
            Population(scratch=scratch)  # type: ignore[arg-type]


def test_mixture_prior_refuses_a_bad_scratch_component(pop: Population) -> None:
    fitted = pop.fitted_
    assert fitted is not None
    args = (
        fitted,
        pop.centroids_,
        np.array([c.size for c in pop.clusters_], dtype=float),
        0.0,
        0.1,
    )
    with pytest.raises(InvalidInputError, match="scratch prior is over 3 weights"):
        mixture_prior(*args, scratch=GaussianPrior.isotropic(3, 1.0))
    for weight in (0.0, 1.0):
        with pytest.raises(InvalidInputError, match=r"scratch_weight must be in \(0, 1\)"):
            mixture_prior(*args, scratch=GaussianPrior.isotropic(D, 1.0), scratch_weight=weight)
