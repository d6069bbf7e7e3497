"""Melodies as bytes: WAV (a plain numpy synth), MIDI (mido) and a piano-roll PNG (Pillow).

Each takes notes as (pitch, start step, duration in steps) on an eighth-note grid.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence

import mido
import numpy as np
from PIL import Image, ImageDraw

from plgl.generators.melody_model import LOWEST_PITCH, N_PITCHES, STEPS, STEPS_PER_BAR

SAMPLE_RATE = 22050
TICKS_PER_BEAT = 480
NoteTuple = tuple[int, int, int]  # (MIDI pitch, start step, duration in steps)


def step_seconds(tempo_bpm: float) -> float:
    """Length of one step (an eighth note) at `tempo_bpm` quarter notes per minute."""
    return 30.0 / tempo_bpm


def wav_bytes(notes: Sequence[NoteTuple], tempo_bpm: float, steps: int = STEPS) -> bytes:
    """16-bit mono WAV at 22050 Hz, `steps` steps long, of a soft plucked tone per note.

    >>> import wave, io
    >>> data = wav_bytes([(60, 0, 2)], tempo_bpm=120.0)
    >>> wave.open(io.BytesIO(data)).getnframes() == 4 * SAMPLE_RATE
    True
    """
    step = step_seconds(tempo_bpm)
    audio = np.zeros(round(steps * step * SAMPLE_RATE))
    for pitch, start, duration in notes:
        first = round(start * step * SAMPLE_RATE)
        length = min(round(duration * step * SAMPLE_RATE), len(audio) - first)
        t = np.arange(length) / SAMPLE_RATE
        frequency = 440.0 * 2.0 ** ((pitch - 69) / 12)
        # A few decaying harmonics give a soft, clarinet-free "plucked" timbre; short attack
        # and release ramps keep the note edges from clicking.
        tone = sum(
            weight * np.sin(2 * np.pi * k * frequency * t)
            for k, weight in ((1, 1.0), (2, 0.35), (3, 0.12))
        )
        envelope = np.exp(-2.5 * t) * np.minimum(1.0, t / 0.01)
        envelope *= np.minimum(1.0, (length - np.arange(length)) / (0.03 * SAMPLE_RATE))
        audio[first : first + length] += tone * envelope
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    samples = (audio * (0.8 / peak) if peak > 0 else audio) * 32767
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def midi_bytes(notes: Sequence[NoteTuple], tempo_bpm: float) -> bytes:
    """A type-0 MIDI file of the notes in 4/4 at `tempo_bpm`.

    >>> import io, mido
    >>> [m.note for m in mido.MidiFile(file=io.BytesIO(midi_bytes([(62, 0, 1)], 120.0)))
    ...  .tracks[0] if m.type == "note_on"]
    [62]
    """
    ticks = TICKS_PER_BEAT // 2
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    events = sorted(
        [(start * ticks, 1, pitch) for pitch, start, _ in notes]
        + [((start + duration) * ticks, 0, pitch) for pitch, start, duration in notes]
    )  # at equal times a note ends (0) before the next begins (1)
    now = 0
    for tick, is_on, pitch in events:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=80 if is_on else 0, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def piano_roll_png(notes: Sequence[NoteTuple], steps: int = STEPS, scale: int = 1) -> bytes:
    """A piano roll over the model's whole pitch range (C3..B5), time left to right.

    >>> from PIL import Image
    >>> import io
    >>> Image.open(io.BytesIO(piano_roll_png([(60, 0, 2)]))).size
    (384, 216)
    """
    cell_w, cell_h = 24 * scale, 6 * scale
    width, height = steps * cell_w, N_PITCHES * cell_h
    image = Image.new("RGB", (width, height), (250, 248, 244))
    draw = ImageDraw.Draw(image)
    for k in range(N_PITCHES):
        if (LOWEST_PITCH + k) % 12 in (1, 3, 6, 8, 10):  # black keys: shaded rows
            y = height - (k + 1) * cell_h
            draw.rectangle([0, y, width, y + cell_h - 1], fill=(238, 235, 229))
    for step in range(0, steps + 1, 2):
        color = (150, 150, 150) if step % STEPS_PER_BAR == 0 else (225, 222, 216)
        draw.line([step * cell_w, 0, step * cell_w, height], fill=color, width=scale)
    for pitch, start, duration in notes:
        y = height - (pitch - LOWEST_PITCH + 1) * cell_h
        box = [start * cell_w + scale, y, (start + duration) * cell_w - 2 * scale, y + cell_h - 1]
        draw.rounded_rectangle(box, radius=2 * scale, fill=(42, 157, 143), outline=(20, 90, 82))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
