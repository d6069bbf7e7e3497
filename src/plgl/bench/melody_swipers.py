"""The melody swipers' tastes (`plgl.bench.swipers`, domain "melodies").

* "roll-linear": a smooth random weight over (time, pitch) of the sounding piano roll.
* "target": closeness of the smoothed piano roll to that of one target melody.
* "qualities": no piano roll at all: a smooth desirability of musical qualities, as a listener
  might describe a taste ("in D major, mostly stepwise, about an octave of range, lively"):
  how well the pitch classes fit a drawn key (the correlation of their duration-weighted
  histogram with the Krumhansl-Kessler profile of that key; Krumhansl, 1990) plus closeness
  of the share of stepwise motion, the range and the number of notes per bar to a profile
  drawn from the seed (Gaussian desirability functions after Derringer & Suich, 1980).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

KINDS = ("roll-linear", "target", "qualities")
"""The kinds of melody swiper."""
QUALITY_RANGES = {"stepwise": (0.25, 0.75), "range": (5.0, 14.0), "note_density": (3.5, 7.5)}
"""Where a "qualities" swiper's preferred share of stepwise moves, range (semitones) and notes
per bar are drawn from (uniformly): the middle 90% or so of the model's melodies."""
QUALITY_WIDTHS = {"stepwise": 0.15, "range": 3.0, "note_density": 1.0}
"""How far from the preferred value a quality may be before its desirability falls to
exp(-1/2) of its best."""

Taste = Callable[[list[Any]], np.ndarray]


def roll(contents: Sequence[Any]) -> np.ndarray:
    """(n, 16, 36) sounding piano rolls of melodies (1 where a pitch sounds at a step)."""
    from plgl.generators.melody_model import LOWEST_PITCH, N_PITCHES, STEPS

    rolls = np.zeros((len(contents), STEPS, N_PITCHES))
    for i, melody in enumerate(contents):
        for pitch, start, duration in melody.notes:
            rolls[i, start : start + duration, pitch - LOWEST_PITCH] = 1.0
    return rolls


def smooth(values: np.ndarray, width: float, axis: int) -> np.ndarray:
    """Gaussian smoothing of an array along one axis (`width` in samples)."""
    x = np.arange(values.shape[axis])
    kernel = np.exp(-0.5 * ((x[:, None] - x[None, :]) / width) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True)
    return np.moveaxis(np.tensordot(kernel, np.moveaxis(values, axis, 0), axes=1), 0, axis)


def melody_taste(kind: str, rng: np.random.Generator, target: Any) -> Taste:
    """The taste of a melody swiper of `kind`, drawn from `rng`; `target` is the melody of a
    "target" swiper."""
    if kind == "qualities":
        return _qualities_taste(rng)
    if kind == "roll-linear":
        weights = smooth(smooth(rng.standard_normal((16, 36)), 3.0, 0), 4.0, 1)

        def linear(contents: list[Any]) -> np.ndarray:
            return np.asarray((roll(contents) * weights).sum(axis=(1, 2)))

        return linear
    goal = smooth(roll([target]), 1.5, 2)[0]

    def closeness(contents: list[Any]) -> np.ndarray:
        return np.asarray(-((smooth(roll(contents), 1.5, 2) - goal) ** 2).sum(axis=(1, 2)))

    return closeness


def key_fit(melody: Any, tonic: int, major: bool) -> float:
    """Correlation in [-1, 1] of the melody's duration-weighted pitch-class histogram with the
    Krumhansl-Kessler profile of the key (`tonic` 0 = C .. 11 = B, major or minor); 0 for a
    melody of fewer than two pitch classes (it fits every key alike).

    >>> from plgl.generators.melodies import Melody
    >>> c_major = Melody.from_tokens([14, 16, 18, 19, 21, 23, 25, 26] + [1] * 8)
    >>> key_fit(c_major, 0, True) > 0.7 > key_fit(c_major, 6, True)
    True
    """
    from plgl.generators.melodies import MAJOR_PROFILE, MINOR_PROFILE

    histogram = np.zeros(12)
    for pitch, _, duration in melody.notes:
        histogram[pitch % 12] += duration
    if np.count_nonzero(histogram) < 2:
        return 0.0
    profile = np.roll(MAJOR_PROFILE if major else MINOR_PROFILE, tonic)
    return float(np.corrcoef(histogram, profile)[0, 1])


def _qualities_taste(rng: np.random.Generator) -> Taste:
    """Key fit plus a Gaussian desirability of stepwise motion, range and note density."""
    from plgl.generators.melodies import FEATURE_NAMES, melody_features

    tonic, major = int(rng.integers(12)), bool(rng.integers(2))
    columns = [FEATURE_NAMES.index(name) for name in QUALITY_RANGES]
    goal = np.array([rng.uniform(*bounds) for bounds in QUALITY_RANGES.values()])
    width = np.array(list(QUALITY_WIDTHS.values()))

    def desirability(contents: list[Any]) -> np.ndarray:
        values = np.array([melody_features(c)[columns] for c in contents], dtype=np.float64)
        close = np.exp(-0.5 * (((values.reshape(-1, len(goal)) - goal) / width) ** 2).sum(axis=1))
        fits = np.array([key_fit(c, tonic, major) for c in contents], dtype=np.float64)
        return np.asarray(fits + close)

    return desirability
