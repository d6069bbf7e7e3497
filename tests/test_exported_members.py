import plgl


def test_public_api_is_pinned() -> None:
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
        "PlglError",
        "Safety",
        "Session",
        "StorageError",
        "UnknownCriterionError",
        "UnknownItemError",
        "UnsafeRegionError",
        "UserDeletedError",
        "__version__",
        "criteria",
        "generators",
        "models",
        "samplers",
        "storage",
    ]
    for name in plgl.__all__:
        assert hasattr(plgl, name), name


def test_session_has_the_designed_methods() -> None:
    for method in (
        "ask",
        "tell",
        "compare",
        "score",
        "recommend",
        "reverse",
        "explain",
        "export",
        "delete",
        "pareto",
        "contexts",
    ):
        assert callable(getattr(plgl.Session, method)), method
