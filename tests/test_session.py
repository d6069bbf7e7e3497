import numpy as np
import pytest
from helpers import rate

import plgl
from plgl.samplers import MixtureSampler


def test_ask_returns_items_of_the_generator(session: plgl.Session) -> None:
    items = session.ask(10)
    assert len(items) == 10
    assert len({item.id for item in items}) == 10
    for item in items:
        assert item.latent.shape == (8,)
        np.testing.assert_array_equal(item.content, item.latent)
        assert item.source in ("exploit", "explore")


def test_item_latents_are_read_only(session: plgl.Session) -> None:
    item = session.ask(1)[0]
    with pytest.raises(ValueError, match="read-only"):
        item.latent[0] = 1.0


def test_ask_spends_about_the_explore_share_exploring(engine: plgl.Engine) -> None:
    session = engine.session("u")
    counts = [item.source for item in session.ask(10)]
    assert counts.count("explore") == 3
    session.set_explore(0.8)
    assert [item.source for item in session.ask(10)].count("explore") == 8
    session.set_explore(0.0)
    assert all(item.source == "exploit" for item in session.ask(10))


def test_ask_keeps_unshown_candidates_for_later(engine: plgl.Engine) -> None:
    proposed: list[int] = []
    generated: list[int] = []
    propose, generate = engine.sampler.propose, engine.generator.generate

    def counting_propose(*args: object) -> np.ndarray:
        latents = propose(*args)  # type: ignore[arg-type]
        proposed.append(len(latents))
        return latents

    def counting_generate(latents: np.ndarray) -> list[object]:
        generated.append(len(latents))
        return generate(latents)

    engine.sampler.propose = counting_propose  # type: ignore[method-assign]
    engine.generator.generate = counting_generate  # type: ignore[method-assign]
    session = engine.session("u")
    first = session.ask(10)
    second = session.ask(10)
    assert proposed == [100]  # one set of about 100 candidates served both asks
    assert generated == [10, 10]  # content is made only for the items shown
    assert not {i.id for i in first} & {i.id for i in second}


def test_same_seed_same_choices() -> None:
    def run(seed: int) -> list[np.ndarray]:
        engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=4), seed=seed)
        session = engine.session("u")
        rate(session, np.ones(4), 20)
        return [item.latent for item in session.ask(5)]

    for a, b in zip(run(3), run(3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(run(3)[0], run(4)[0])


def test_tell_learns_and_returns_the_stored_event(session: plgl.Session) -> None:
    direction = np.eye(8)[0]
    rate(session, direction, 40)
    scores = session.score(np.stack([3 * direction, -3 * direction]))
    assert scores[0] > 0.8 > 0.2 > scores[1]


def test_tell_retry_with_same_event_id_changes_nothing(session: plgl.Session) -> None:
    item = session.ask(1)[0]
    first = session.tell(item.id, "like", event_id="e-1")
    before = session.score(item.latent)
    again = session.tell(item.id, "like", event_id="e-1")
    assert again == first
    assert session.n_ratings == 1
    np.testing.assert_array_equal(session.score(item.latent), before)
    assert len(session.export()["events"]) == 1


def test_compare_teaches_the_same_model(session: plgl.Session) -> None:
    direction = np.eye(8)[2]
    for _ in range(6):
        items = session.ask(10)
        for a, b in zip(items[::2], items[1::2], strict=True):
            better, worse = (a, b) if a.latent @ direction > b.latent @ direction else (b, a)
            session.compare(better.id, worse.id)
    scores = session.score(np.stack([3 * direction, -3 * direction]))
    assert scores[0] > scores[1] + 0.3
    assert session.export()["events"][0]["kind"] == "comparison"


def test_recommend_is_best_first_diverse_and_on_the_shell(session: plgl.Session) -> None:
    direction = np.eye(8)[1]
    rate(session, direction, 60)
    recommended = session.recommend(5)
    latents = np.array([item.latent for item in recommended])
    np.testing.assert_allclose(np.linalg.norm(latents, axis=1), np.sqrt(8), rtol=1e-6)
    scores = session.score(latents)
    assert scores[0] == pytest.approx(scores.max())
    assert latents[0] @ direction / np.sqrt(8) > 0.9
    assert np.min(np.linalg.norm(latents[:, None] - latents[None], axis=2) + np.eye(5) * 99) > 0.1
    session.tell(recommended[0].id, "superlike")  # recommended items can be rated


def test_reverse_hits_targets_on_the_shell(session: plgl.Session) -> None:
    rate(session, np.eye(8)[0], 60)
    for target in (0.2, 0.5, 0.8):
        latents = session.reverse(target, n=6)
        assert latents.shape == (6, 8)
        np.testing.assert_allclose(np.linalg.norm(latents, axis=1), np.sqrt(8), rtol=1e-6)
        np.testing.assert_allclose(session.score(latents), target, atol=0.02)


def test_reverse_beyond_reach_stays_on_the_shell(session: plgl.Session) -> None:
    rate(session, np.eye(8)[0], 20)
    top = session.reverse(0.999999, n=3)
    np.testing.assert_allclose(np.linalg.norm(top, axis=1), np.sqrt(8), rtol=1e-6)


def test_explain_names_the_traits_that_matter(session: plgl.Session) -> None:
    assert session.explain()["traits"] == []
    rate(session, np.eye(8)[5], 60)
    explanation = session.explain()
    assert explanation["traits"][0]["trait"] == "latent[5]"
    assert explanation["traits"][0]["weight"] > 0.5
    assert explanation["ratings"] == 60
    assert "latent[5]" in explanation["summary"]
    assert len(session.export()["items"]) == 60  # explaining shows nothing new


def test_export_is_json_native(session: plgl.Session) -> None:
    import json

    rate(session, np.eye(8)[0], 10)
    data = json.loads(json.dumps(session.export()))
    assert data["format"] == "plgl.export/1"
    assert data["user_id"] == "alice"
    assert len(data["events"]) == 10 and len(data["items"]) == 10


def test_delete_forgets_the_user_for_good(engine: plgl.Engine) -> None:
    session = engine.session("bob")
    item = session.ask(1)[0]
    session.tell(item.id, "like")
    session.delete()
    assert engine.storage.events("bob") == []
    with pytest.raises(plgl.UserDeletedError):
        session.ask(1)
    with pytest.raises(plgl.UserDeletedError):
        engine.session("bob")


def test_session_resumes_from_storage(engine: plgl.Engine) -> None:
    session = engine.session("carol")
    rate(session, np.eye(8)[3], 30)
    probe = np.random.default_rng(0).standard_normal((5, 8))
    expected = session.score(probe)
    engine.evict("carol")  # as after a restart: only storage remains
    resumed = engine.session("carol")
    assert resumed is not session
    assert resumed.n_ratings == 30
    np.testing.assert_allclose(resumed.score(probe), expected, atol=0.05)


def test_other_models_plug_in() -> None:
    from plgl.models import KernelPreference, PairwiseRankSVM

    for model in (KernelPreference(), PairwiseRankSVM(random_state=0)):
        engine = plgl.Engine(
            generator=plgl.generators.get("identity", latent_dim=4),
            model=model,
            sampler=MixtureSampler(n_candidates=30),
        )
        session = engine.session("u")
        rate(session, np.eye(4)[0], 40)
        best = session.recommend(2)[0].latent
        assert best[0] / 2.0 > 0.7, type(model).__name__
        assert session.reverse(0.5, 2).shape == (2, 4)


def test_batch_models_resume_from_storage_too() -> None:
    from plgl.models import KernelPreference

    engine = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=4),
        model=KernelPreference(),
        sampler=MixtureSampler(n_candidates=30),
    )
    session = engine.session("u")
    rate(session, np.eye(4)[0], 30)
    probe = np.random.default_rng(1).standard_normal((5, 4))
    expected = session.score(probe)
    engine.evict("u")
    np.testing.assert_allclose(engine.session("u").score(probe), expected)


def test_render_serves_a_shown_item_and_nothing_else(session: plgl.Session) -> None:
    item = session.ask(1)[0]
    data, media_type = session.render(item.id)
    assert media_type == "image/svg+xml"
    assert data.startswith(b"<svg")
    with pytest.raises(plgl.UnknownItemError):
        session.render("never-shown")
    with pytest.raises(plgl.InvalidInputError, match="renders"):
        session.render(item.id, "image/png")


def test_reverse_items_can_be_shown_and_rated(session: plgl.Session) -> None:
    rate(session, np.ones(8), 20)
    items = session.reverse_items(0.7, n=3)
    assert [item.source for item in items] == ["reverse"] * 3
    scores = session.score([item.latent for item in items])
    np.testing.assert_allclose(scores, 0.7, atol=0.05)
    session.tell(items[0].id, "like")
    assert session.render(items[1].id)[1] == "image/svg+xml"


def test_confidence_grows_as_the_taste_is_learned(session: plgl.Session) -> None:
    assert session.confidence == 0.0
    rate(session, np.ones(8), 20)
    early = session.confidence
    rate(session, np.ones(8), 80)
    assert 0.0 < early < session.confidence < 1.0


def test_navigation_stays_within_the_generators_reach() -> None:
    generator = plgl.generators.get("identity", latent_dim=16)
    generator.reach = 2.0
    session = plgl.Engine(generator=generator, seed=0).session("u")
    direction = np.eye(16)[0]
    rate(session, direction, 60)
    latents = np.array(
        [item.latent for item in session.ask(10) + session.recommend(5)]
        + list(session.reverse(0.99, n=5))
    )
    np.testing.assert_allclose(np.linalg.norm(latents, axis=1), 4.0)
    along = latents @ (session.model.coef_ / np.linalg.norm(session.model.coef_))
    assert along.max() <= 2.0 + 1e-9
    assert session.recommend(1)[0].latent @ direction > 1.5  # still as far as it may go


def test_adventurousness_is_stored_with_the_user(engine: plgl.Engine) -> None:
    session = engine.session("u")
    assert session.explore == 0.3  # the sampler's default until set
    session.set_explore(0.6)
    engine.evict("u")
    resumed = engine.session("u")
    assert resumed.explore == 0.6
    assert resumed.export()["settings"] == {"explore": 0.6}
    assert engine.storage.settings("u") == {"explore": 0.6}
    with pytest.raises(plgl.InvalidInputError):
        resumed.set_explore(1.5)
    assert engine.storage.settings("u") == {"explore": 0.6}
    resumed.delete()
    assert engine.storage.settings("u") == {}
