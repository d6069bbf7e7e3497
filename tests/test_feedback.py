import pytest

from plgl import FeedbackPolicy, InvalidInputError


def test_explicit_signals_are_full_evidence() -> None:
    policy = FeedbackPolicy()
    assert policy.label("like") == (1, 1.0)
    assert policy.label("dislike") == (0, 1.0)
    assert policy.label("superlike") == (1, 2.0)


def test_skip_is_weaker_than_any_explicit_answer() -> None:
    policy = FeedbackPolicy()
    for dwell in (None, 0.1, 2.9, 3.1, 30.0):
        _, weight = policy.label("skip", dwell)
        assert 0 < weight < 1.0


def test_dwell_decides_which_way_a_skip_leans() -> None:
    policy = FeedbackPolicy()
    assert policy.label("skip", 0.3)[0] == 0
    assert policy.label("skip", 12.0)[0] == 1
    assert policy.label("skip", 12.0)[1] > policy.label("skip", 3.5)[1]


@pytest.mark.parametrize(
    ("signal", "dwell"),
    [
        ("love", None),
        ("", None),
        (None, None),
        ("like", -1.0),
        ("like", float("nan")),
        ("skip", "3"),
    ],
)
def test_bad_signals_are_named(signal: object, dwell: object) -> None:
    with pytest.raises(InvalidInputError, match=r"signal|dwell"):
        FeedbackPolicy().label(signal, dwell)  # type: ignore[arg-type]
