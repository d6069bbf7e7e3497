"""A melody as a musician compares melodies: what the content judge reads of a melody.

The perceptual map of a melody (the decoder's soft tokens) spells a held note as "hold", so
two melodies that sound the same pitch at a step can look unrelated to it, and it says nothing
of intervals, key or rhythm as such. `judge_row` describes the decoded melody instead, by the
global and position-aware features of computational melody analysis (the MIDI Toolbox of
Eerola & Toiviainen, 2004; FANTASTIC, Muellensiefen, 2009):

* contour: the sounding pitch at each step, relative to the melody's mean pitch (FANTASTIC's
  step contour): the shape of the line, wherever it sits;
* register: the mean pitch;
* rhythm: where notes start (an onset pattern over the steps);
* pitch classes: how long each of the 12 sounds (the tonal-hierarchy histogram of Krumhansl,
  1990, from which keys are found);
* intervals: how consecutive notes move (repeat, step, third, fourth or fifth, leap; up or
  down);
* durations: how long notes last (eighth, quarter, dotted quarter, longer) and how much is rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from plgl.errors import InvalidInputError
from plgl.generators.melody_model import LOWEST_PITCH, N_PITCHES, STEPS

BLOCKS = ("contour", "register", "rhythm", "pitch_classes", "intervals", "durations")
"""The parts of `judge_row`, in order."""
BLOCK_SIZES = {
    "contour": STEPS,
    "register": 1,
    "rhythm": STEPS,
    "pitch_classes": 12,
    "intervals": 9,
    "durations": 5,
}
JUDGE_LENGTH = sum(BLOCK_SIZES.values())
"""Length of `judge_row`."""
JUDGE_SCALE = 1.5
"""Weight of every block of `judge_row` (each has a norm of about 1 before it): sets how far the
judge's regularized regression may follow a few ratings (measured on the melody swipers; see
docs/learning.md)."""
# Interval bins in semitones: a repeat, then steps, thirds, fourths and fifths, and leaps
# (a sixth or more) each up and down; what the melody-analysis toolboxes count first.
_INTERVAL_EDGES = np.array([-0.5, 0.5, 2.5, 4.5, 7.5, np.inf])
_MIDDLE = LOWEST_PITCH + N_PITCHES / 2.0  # the model's mid-range, where an empty melody sits


def judge_row(notes: Sequence[tuple[int, int, int]], scale: float = JUDGE_SCALE) -> np.ndarray:
    """(JUDGE_LENGTH,) float64 the blocks of `BLOCKS` of the melody of `notes` ((MIDI pitch,
    start step, duration in steps), as `Melody.notes`), each of norm about 1, times `scale`.

    Contour and register are in octaves; the rhythm block is the onset pattern over sqrt(STEPS);
    the histograms are the square roots of shares (norm 1: the inner product of two is
    the Bhattacharyya coefficient of the distributions, and rare bins are not swamped).

    Raises InvalidInputError for a note outside the STEPS steps or of no duration.

    >>> row = judge_row([(60, 0, 2), (62, 2, 2)], scale=1.0)
    >>> row.shape, round(float(row[0] * 12), 2), round(float(row[STEPS]), 2)
    ((59,), -1.0, -0.42)
    """
    pitches = np.array([pitch for pitch, _, _ in notes], dtype=np.float64)
    starts = np.array([start for _, start, _ in notes], dtype=np.int64)
    durations = np.array([duration for _, _, duration in notes], dtype=np.int64)
    ends = starts + durations
    if len(notes) and (starts.min() < 0 or durations.min() < 1 or ends.max() > STEPS):
        raise InvalidInputError(
            f"notes must be (pitch, start, duration) with duration >= 1 within {STEPS} steps, "
            f"got {list(notes)!r}"
        )
    mean = float(np.average(pitches, weights=durations)) if len(notes) else _MIDDLE
    contour = np.zeros(STEPS)  # a rest sits at the mean: no direction
    for pitch, start, duration in notes:
        contour[start : start + duration] = (pitch - mean) / 12.0
    onsets = np.zeros(STEPS)
    onsets[starts] = 1.0
    classes = np.bincount(pitches.astype(np.int64) % 12, weights=durations, minlength=12)
    moves = np.diff(pitches)
    size = np.digitize(np.abs(moves), _INTERVAL_EDGES) - 1  # 0 repeat .. 4 leap
    bins = np.where(moves > 0, size + 4, np.where(moves < 0, size, 0))  # 1-4 down, 5-8 up
    intervals = np.bincount(bins.astype(np.int64), minlength=9)
    # Time spent in eighths, quarters, dotted quarters, longer notes, and rests: sums to STEPS.
    lengths = np.bincount(np.minimum(durations, 4) - 1, weights=durations, minlength=4)
    rest = STEPS - float(durations.sum())
    blocks = [
        contour,
        np.array([(mean - _MIDDLE) / 12.0]),
        onsets / np.sqrt(STEPS),
        _root_shares(classes),
        _root_shares(intervals.astype(np.float64)),
        _root_shares(np.append(lengths, rest)),
    ]
    return np.concatenate(blocks) * scale


def _root_shares(counts: np.ndarray) -> np.ndarray:
    """Square roots of the shares of `counts` (all zeros when there are none)."""
    total = counts.sum()
    return np.sqrt(counts / total) if total > 0 else np.zeros(len(counts))
