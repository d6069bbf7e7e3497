"""The public API is exactly `__all__`: no accidental exports, no silent removals or new
required parameters in the front methods."""

import importlib
import inspect
import types

import pytest

import plgl

PUBLIC_PACKAGES = [
    "plgl",
    "plgl.bench",
    "plgl.cache",
    "plgl.generators",
    "plgl.models",
    "plgl.navigation",
    "plgl.population",
    "plgl.samplers",
    "plgl.server",
    "plgl.storage",
    "plgl.testing",
]


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_public_names_are_exactly_all(name: str) -> None:
    package = importlib.import_module(name)
    for exported in package.__all__:  # loads every lazy export, so vars() sees them
        getattr(package, exported)
    public = {key: value for key, value in vars(package).items() if not key.startswith("_")}
    # The package's own submodules are reachable as attributes once imported; anything else
    # public (a helper import, a stray alias) is an accidental export.
    leaked = sorted(
        key
        for key, value in public.items()
        if key not in package.__all__
        and not (isinstance(value, types.ModuleType) and value.__name__ == f"{name}.{key}")
    )
    assert leaked == []
    assert sorted(package.__all__) == sorted(set(package.__all__))


def test_top_level_all_is_pinned() -> None:
    assert sorted(plgl.__all__) == [
        "Comparison",
        "Engine",
        "EventConflictError",
        "Feedback",
        "FeedbackPolicy",
        "Generator",
        "InfeasibleConstraintsError",
        "InvalidInputError",
        "Item",
        "NotOptedInError",
        "PlglError",
        "Population",
        "RateLimitedError",
        "Safety",
        "Session",
        "StorageError",
        "UnknownCriterionError",
        "UnknownItemError",
        "UnsafeRegionError",
        "UserDeletedError",
        "__version__",
        "cache",
        "criteria",
        "generators",
        "models",
        "samplers",
        "storage",
    ]


def _signature(function: object) -> str:
    return str(inspect.signature(function))  # type: ignore[arg-type]


SIGNATURES = {
    "Engine.__init__": (
        "(self, generator: 'Generator', storage: 'str | BaseStorage | None' = None, seed: 'int'"
        " = 0, *, model: 'BasePreferenceModel | None' = None, sampler: 'BaseSampler | None' = "
        "None, safety: 'Safety | None' = None, feedback: 'FeedbackPolicy | None' = None, cache:"
        " 'str | BaseCache | ContentCache | None' = None, max_sessions: 'int' = 10000, "
        "idle_seconds: 'float | None' = 3600.0, criteria: 'Sequence[str] | None' = None, "
        "population: 'Population | None' = None, for_you: 'str | None' = None, "
        "perceptual_maps: 'int' = 16384) -> 'None'"
    ),
    "Engine.session": "(self, user_id: 'str', context: 'str | None' = None) -> 'Session'",
    "Generator._render": "(self, content: 'Any', media_type: 'str') -> 'bytes'",
    "Generator.config": "(self) -> 'dict[str, Any]'",
    "Generator.describe": "(self, direction: 'np.ndarray') -> 'list[tuple[str, float]]'",
    "Generator.feature_sample": "(self) -> 'tuple[np.ndarray, np.ndarray]'",
    "Generator.features": "(self, contents: 'Sequence[Any]') -> 'np.ndarray'",
    "Generator.generate": "(self, latents: 'np.ndarray') -> 'list[Any]'",
    "Generator.metadata": "(self, content: 'Any') -> 'dict[str, Any]'",
    "Generator.project": "(self, latents: 'np.ndarray') -> 'np.ndarray'",
    "Generator.render": "(self, content: 'Any', media_type: 'str | None' = None) -> 'bytes'",
    "Generator.sample": "(self, n: 'int', rng: 'np.random.Generator') -> 'np.ndarray'",
    "Session.ask": "(self, n: 'int' = 10) -> 'list[Item]'",
    "Session.ask_pair": "(self) -> 'tuple[Item, Item]'",
    "Session.compare": (
        "(self, preferred_id: 'str', other_id: 'str', event_id: 'str | None' = None, criterion:"
        " 'str | None' = None) -> 'Comparison'"
    ),
    "Session.contexts": "(self: 'SessionCore') -> 'list[str]'",
    "Session.delete": "(self) -> 'None'",
    "Session.explain": "(self) -> 'dict[str, Any]'",
    "Session.export": "(self) -> 'dict[str, Any]'",
    "Session.matches": "(self: 'SessionCore', k: 'int' = 5) -> 'list[Match]'",
    "Session.next_cards": (
        "(self, n: 'int' = 5, *, swipes: 'int | None' = 1) -> 'list[tuple[Item, ...]]'"
    ),
    "Session.pareto": (
        "(self: 'SessionCore', first: 'str', second: 'str', points: 'int' = 15) -> "
        "'tuple[np.ndarray, np.ndarray]'"
    ),
    "Session.recommend": (
        "(self, k: 'int' = 10, maximize: 'str | None' = None, at_least: 'Mapping[str, float] | "
        "None' = None) -> 'list[Item]'"
    ),
    "Session.reverse": (
        "(self, target: 'float | None' = None, n: 'int' = 5, targets: 'Mapping[str, float] | "
        "None' = None) -> 'np.ndarray'"
    ),
    "Session.reverse_items": (
        "(self, target: 'float | None' = None, n: 'int' = 5, targets: 'Mapping[str, float] | "
        "None' = None) -> 'list[Item]'"
    ),
    "Session.score": "(self, latents: 'Any', criterion: 'str | None' = None) -> 'np.ndarray'",
    "Session.set_matching": "(self: 'SessionCore', enabled: 'bool') -> 'None'",
    "Session.tell": (
        "(self, item_id: 'str', signal: 'str', dwell_seconds: 'float | None' = None, event_id: "
        "'str | None' = None, criterion: 'str | None' = None) -> 'Feedback'"
    ),
}


@pytest.mark.parametrize("qualified", sorted(SIGNATURES))
def test_front_method_signatures_are_pinned(qualified: str) -> None:
    owner, method = qualified.split(".")
    assert _signature(getattr(getattr(plgl, owner), method)) == SIGNATURES[qualified]


def test_generator_plug_point_is_generate_and_render() -> None:
    assert plgl.Generator.__abstractmethods__ == frozenset({"generate", "_render"})
