"""Two-bar melody windows from music21's folk corpus, for the melody VAE.

Finds the ABC files of the folk collections bundled with music21 (Essen, O'Neill's, Ryan's
Mammoth, Aird's Airs, ...), converts each with Debian's `abc2midi` (one MIDI file per tune; the
ABC parser of music21 is far slower), reads the MIDI with mido, keeps tunes in duple meter (2/4,
4/4, 2/2), quantizes the melody to eighth notes and cuts windows of 16 steps (two bars of 4/4)
starting on bar lines, every 8 steps. Tunes are split into training and validation before
windowing, so no tune is on both sides.

    python scripts/prepare_melodies.py [--out data/melodies.npz] [--limit N]

Writes an .npz with `train` and `valid` (n, 16) uint8 token arrays (see
`plgl.generators.melody_model`), the collection of each window, and prints counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import mido
import numpy as np

from plgl.generators.melody_model import (
    HOLD,
    LOWEST_PITCH,
    REST,
    STEPS,
    STEPS_PER_BAR,
    fold_pitch,
)

COLLECTIONS = (
    "airdsAirs",
    "essenFolksong",
    "miscFolk",
    "nottingham-dataset",
    "oneills1850",
    "ryansMammoth",
)
DUPLE = {(2, 4), (4, 4), (2, 2)}
DOWNBEAT = 105  # abc2midi's default velocity for the first note of a bar
VALID_SHARE = 0.1
SEED = 0


def corpus_abc_files() -> list[tuple[str, Path]]:
    """(collection, path) of every folk ABC file in music21's corpus, sorted."""
    from music21.common import getCorpusFilePath

    root = Path(getCorpusFilePath())
    return [(name, path) for name in COLLECTIONS for path in sorted((root / name).rglob("*.abc"))]


def abc_to_midi(abc_path: Path, workdir: Path) -> list[Path]:
    """Convert every tune of an ABC file with abc2midi; the MIDI files it wrote, sorted.

    No `-o`: with it abc2midi writes only the first tune.
    """
    local = workdir / abc_path.name
    local.write_bytes(abc_path.read_bytes())
    subprocess.run(
        ["abc2midi", local.name],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
        check=False,  # abc2midi exits non-zero on warnings yet writes good files
    )
    return sorted(workdir.glob("*.mid"))


def melody_grid(midi_path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(tokens (n_steps,), bar-line steps (n_bars,)) of one tune on an eighth-note grid, or None
    if the tune is not in one duple meter or has no notes.

    The melody is channel 0 (abc2midi puts accompaniment chords elsewhere). Where several notes
    start within one step (grace notes, sixteenths), the longest wins. abc2midi plays the first
    note of every bar louder (velocity `DOWNBEAT`): those onsets are the bar lines, which stay
    right through pickups and irregular bars where counting from the start would drift.
    """
    midi = mido.MidiFile(str(midi_path))
    eighth = midi.ticks_per_beat / 2
    meters: set[tuple[int, int]] = set()
    sounding: dict[int, tuple[int, int]] = {}
    notes: list[tuple[int, int, int, int]] = []  # (onset tick, end tick, pitch, velocity)
    now = 0
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.type == "time_signature":
            meters.add((message.numerator, message.denominator))
        elif message.type in ("note_on", "note_off") and message.channel == 0:
            if message.type == "note_on" and message.velocity > 0:
                sounding[message.note] = (now, message.velocity)
            elif message.note in sounding:
                onset, velocity = sounding.pop(message.note)
                notes.append((onset, now, message.note, velocity))
    if len(meters) != 1 or not meters <= DUPLE or not notes:
        return None
    end_step = _nearest(max(end for _, end, _, _ in notes) / eighth)
    grid: dict[int, tuple[int, int, int]] = {}  # onset step -> (length in ticks, end step, pitch)
    # The first note is loud even when it is a pickup.
    downbeats = {_nearest(n[0] / eighth) for n in sorted(notes)[1:] if n[3] == DOWNBEAT}
    for onset, end, pitch, _ in notes:
        step = _nearest(onset / eighth)
        if step not in grid or end - onset > grid[step][0]:
            grid[step] = (end - onset, max(step + 1, _nearest(end / eighth)), pitch)
    onsets = sorted(grid)
    end_step = max(end_step, onsets[-1] + 1)
    tokens = np.full(end_step, REST, dtype=np.uint8)
    for step, next_onset in zip(onsets, [*onsets[1:], end_step], strict=True):
        _, stop, pitch = grid[step]
        tokens[step] = 2 + fold_pitch(pitch) - LOWEST_PITCH
        tokens[step + 1 : min(stop, next_onset)] = HOLD
    return tokens, np.array(sorted(downbeats), dtype=np.int64)


def _nearest(steps: float) -> int:
    """Round halves up: a dotted eighth then a sixteenth keeps the first note two steps."""
    return int(np.floor(steps + 0.5))


def windows(tokens: np.ndarray, bar_lines: np.ndarray, hop: int = STEPS_PER_BAR) -> np.ndarray:
    """(n, STEPS) windows of a tune's tokens (n_steps,) starting on bar lines at least `hop`
    steps apart; exact repeats (from repeat signs) are dropped, and windows with under two
    notes. A window that opens on a held note opens with that note's onset instead.

    >>> tune = np.array([2, 1, 3, 0] * 4 + [4, 1, 1, 1] * 4, dtype=np.uint8)
    >>> windows(tune, np.arange(0, 32, 4)).shape
    (3, 16)
    """
    rows: list[np.ndarray] = []
    seen: set[bytes] = set()
    last = -hop
    for start in bar_lines[bar_lines + STEPS <= len(tokens)]:
        if start - last < hop:
            continue
        last = start
        window = tokens[start : start + STEPS].copy()
        onsets = np.flatnonzero(tokens[: start + 1] >= 2)
        if window[0] == HOLD and len(onsets):
            window[0] = tokens[onsets[-1]]
        if np.count_nonzero(window >= 2) < 2 or window.tobytes() in seen:
            continue
        seen.add(window.tobytes())
        rows.append(window)
    return np.array(rows, dtype=np.uint8).reshape(-1, STEPS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/melodies.npz"))
    parser.add_argument("--limit", type=int, default=None, help="first N ABC files (testing)")
    args = parser.parse_args()
    started = time.perf_counter()
    files = corpus_abc_files()[: args.limit]
    tunes: list[tuple[str, tuple[np.ndarray, np.ndarray]]] = []
    seen_tunes: set[bytes] = set()
    counts: Counter[str] = Counter()
    for collection, path in files:
        with tempfile.TemporaryDirectory() as tmp:
            for midi_path in abc_to_midi(path, Path(tmp)):
                counts["midi files"] += 1
                try:
                    grid = melody_grid(midi_path)
                except (OSError, ValueError, EOFError, KeyError):
                    counts["unreadable midi"] += 1
                    continue
                if grid is None:
                    counts["not one duple meter"] += 1
                    continue
                # O'Neill's collection ships overlapping files: the same tune twice.
                if grid[0].tobytes() in seen_tunes:
                    counts["duplicate tunes"] += 1
                    continue
                seen_tunes.add(grid[0].tobytes())
                tunes.append((collection, grid))
    order = np.random.default_rng(SEED).permutation(len(tunes))
    n_valid = round(VALID_SHARE * len(tunes))
    split = {"valid": order[:n_valid], "train": order[n_valid:]}
    arrays: dict[str, np.ndarray] = {}
    stats: dict[str, object] = {"abc files": len(files), **counts, "duple tunes": len(tunes)}
    for name, indices in split.items():
        parts = [(tunes[i][0], windows(*tunes[i][1])) for i in sorted(indices)]
        arrays[name] = np.concatenate([w for _, w in parts]) if parts else np.zeros((0, STEPS))
        arrays[f"{name}_collection"] = np.array([c for c, w in parts for _ in range(len(w))])
        stats[f"{name} tunes"] = len(indices)
        stats[f"{name} windows"] = len(arrays[name])
        stats[f"{name} unique windows"] = len(np.unique(arrays[name], axis=0))
    per_collection = Counter(arrays["train_collection"].tolist())
    per_collection.update(arrays["valid_collection"].tolist())
    stats["windows per collection"] = dict(sorted(per_collection.items()))
    stats["sha256 of train"] = hashlib.sha256(arrays["train"].tobytes()).hexdigest()[:16]
    stats["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays, stats=np.array(json.dumps(stats)))
    print(json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
