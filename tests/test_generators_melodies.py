import hashlib
import importlib.util
import io
import json
import shutil
import wave
from importlib import resources
from pathlib import Path

import mido
import numpy as np
import pytest
from PIL import Image

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.generators.melodies import FEATURE_NAMES, Melody, MelodyGenerator
from plgl.testing import GeneratorConformance

ROOT = Path(__file__).resolve().parents[1]
# C major, stepwise up and down in eighths and quarters: C4 D4 E4 F4 G4 - F4 E4 | D4 - C4 - ...
SCALE = [14, 16, 18, 19, 21, 1, 19, 18, 16, 1, 14, 1, 1, 1, 0, 0]


@pytest.fixture(scope="module")
def melodies() -> MelodyGenerator:
    generator = plgl.generators.get("melodies")
    assert isinstance(generator, MelodyGenerator)
    return generator


class TestMelodies(GeneratorConformance):
    @pytest.fixture
    def generator(self, melodies: MelodyGenerator) -> Generator:
        return melodies


def test_the_same_latent_gives_the_same_melody_in_a_new_generator(
    melodies: MelodyGenerator,
) -> None:
    latents = melodies.sample(6, np.random.default_rng(0))
    assert MelodyGenerator().generate(latents) == melodies.generate(latents)


def test_the_latent_decides_the_melody(melodies: MelodyGenerator) -> None:
    contents = melodies.generate(melodies.sample(40, np.random.default_rng(1)))
    assert len({m.tokens for m in contents}) >= 30
    assert np.mean([len(m.notes) >= 4 for m in contents]) >= 0.8


def test_config_names_the_shipped_weights(melodies: MelodyGenerator) -> None:
    weights = resources.files("plgl") / "weights"
    digest = hashlib.sha256((weights / "melody_vae.pt").read_bytes()).hexdigest()
    assert melodies.config()["weights_sha256"] == digest
    assert json.loads((weights / "melody_vae.json").read_text())["weights_sha256"] == digest


def test_wav_has_the_melody_length_and_sound() -> None:
    generator = MelodyGenerator(tempo_bpm=120.0)
    data = generator.render(Melody.from_tokens(SCALE), "audio/wav")
    with wave.open(io.BytesIO(data)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 22050)
        assert audio.getnframes() == 4 * 22050  # 16 eighths at 120 quarters a minute
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    first_half = np.abs(samples[: len(samples) // 2].astype(np.int64))
    assert first_half.max() > 10_000
    # The last two steps are rests: the tone has been released there.
    assert np.abs(samples[-2 * 22050 // 4 + 200 :]).max() == 0


def test_silence_renders_as_silent_audio(melodies: MelodyGenerator) -> None:
    data = melodies.render(Melody.from_tokens([0] * 16), "audio/wav")
    with wave.open(io.BytesIO(data)) as audio:
        assert not np.any(np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2"))


def test_midi_holds_the_notes(melodies: MelodyGenerator) -> None:
    melody = Melody.from_tokens(SCALE)
    midi = mido.MidiFile(file=io.BytesIO(melodies.render(melody, "audio/midi")))
    now, onsets = 0, []
    for message in midi.tracks[0]:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            onsets.append((message.note, now // (midi.ticks_per_beat // 2)))
    assert onsets == [(note.pitch, note.start) for note in melody.notes]
    assert midi.length == pytest.approx(14 * 30 / melodies.tempo_bpm)


def test_piano_roll_decodes(melodies: MelodyGenerator) -> None:
    image = Image.open(io.BytesIO(melodies.render(Melody.from_tokens(SCALE), "image/png")))
    image.load()
    assert image.format == "PNG" and image.width > image.height > 0


def test_metadata_names_the_notes(melodies: MelodyGenerator) -> None:
    facts = melodies.metadata(Melody.from_tokens(SCALE))
    assert facts["notes"] == "C4 D4 E4 F4 G4 F4 E4 D4 C4"
    assert facts["score"].startswith("C4 D4 E4 F4 G4 - F4")
    assert facts["tempo_bpm"] == melodies.tempo_bpm


def test_features_have_one_row_per_melody(melodies: MelodyGenerator) -> None:
    contents = melodies.generate(melodies.sample(5, np.random.default_rng(2)))
    features = melodies.features(contents)
    assert features.shape == (5, len(FEATURE_NAMES)) and np.all(np.isfinite(features))
    assert melodies.feature_names == FEATURE_NAMES


def test_features_respond_in_musical_terms(melodies: MelodyGenerator) -> None:
    octave_up = [t + 12 if t >= 2 else t for t in SCALE]
    leaping = [14, 21, 26, 1, 16, 23, 14, 1, 28, 1, 19, 1, 1, 1, 0, 0]
    minor = [11, 13, 14, 16, 18, 19, 21, 1, 18, 1, 14, 1, 11, 1, 1, 1]  # A3 natural minor
    sparse = [14, 1, 1, 1, 0, 0, 0, 0, 21, 1, 1, 1, 0, 0, 0, 0]
    rows = melodies.features([Melody.from_tokens(t) for t in (SCALE, octave_up, leaping, minor)])
    sparse_row = melodies.features([Melody.from_tokens(sparse)])[0]
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    assert rows[1, column["register"]] == rows[0, column["register"]] + 12
    np.testing.assert_allclose(np.delete(rows[1], column["register"]), np.delete(rows[0], 0))
    assert rows[0, column["stepwise"]] == 1.0 and rows[0, column["leaps"]] == 0.0
    assert rows[2, column["leaps"]] > 0.5 > rows[2, column["stepwise"]]
    assert rows[2, column["range"]] > rows[0, column["range"]]
    assert rows[0, column["major"]] > 0 > rows[3, column["major"]]
    assert sparse_row[column["note_density"]] < rows[0, column["note_density"]]
    assert sparse_row[column["rests"]] == 0.5 > rows[0, column["rests"]]


def test_a_hold_after_silence_is_silence() -> None:
    melody = Melody.from_tokens([1, 1, 0, 1, 14, 1] + [0] * 10)
    assert melody.notes == ((60, 4, 2),)


@pytest.mark.parametrize("tokens", [[0] * 15, [0] * 17, [38] + [0] * 15, [-1] + [0] * 15], ids=str)
def test_bad_tokens_are_refused(tokens: list[int]) -> None:
    with pytest.raises(InvalidInputError, match="16 ints"):
        Melody.from_tokens(tokens)


def test_bad_input_is_refused(melodies: MelodyGenerator) -> None:
    with pytest.raises(InvalidInputError, match=r"shape \(n, 16\)"):
        melodies.generate(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="NaN"):
        melodies.generate(np.full((1, 16), np.nan))
    with pytest.raises(InvalidInputError, match="Melody"):
        melodies.render(np.zeros(16), "audio/wav")
    with pytest.raises(InvalidInputError, match="Melody"):
        melodies.features([np.zeros(16)])
    for tempo in (0, 1000.0, "fast", True):
        with pytest.raises(InvalidInputError, match="tempo_bpm"):
            MelodyGenerator(tempo_bpm=tempo)  # type: ignore[arg-type]


def _prepare_module() -> object:
    spec = importlib.util.spec_from_file_location(
        "prepare_melodies", ROOT / "scripts" / "prepare_melodies.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("abc2midi") is None, reason="Debian's abcmidi is not installed")
def test_data_preparation_converts_an_abc_tune(tmp_path: Path) -> None:
    prepare = _prepare_module()
    abc = tmp_path / "tune.abc"
    # One eighth of pickup, then four bars of 4/4.
    abc.write_text(
        "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\nG | c2 d2 e2 f2 | g4 e4 | c2 d2 e2 f2 | g8 |]\n"
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    (midi_path,) = prepare.abc_to_midi(abc, workdir)  # type: ignore[attr-defined]
    tokens, bar_lines = prepare.melody_grid(midi_path)  # type: ignore[attr-defined]
    assert bar_lines.tolist() == [1, 9, 17, 25]
    windows = prepare.windows(tokens, bar_lines)  # type: ignore[attr-defined]
    c, d, e, f, g = 26, 28, 30, 31, 33  # C5 D5 E5 F5 G5
    assert windows.tolist() == [
        [c, 1, d, 1, e, 1, f, 1, g, 1, 1, 1, e, 1, 1, 1],
        [g, 1, 1, 1, e, 1, 1, 1, c, 1, d, 1, e, 1, f, 1],
        [c, 1, d, 1, e, 1, f, 1, g, 1, 1, 1, 1, 1, 1, 1],
    ]


def test_describe_names_the_traits_a_direction_moves(melodies: MelodyGenerator) -> None:
    slopes = dict(melodies.describe(np.eye(16)[0]))
    assert set(slopes) == set(FEATURE_NAMES)
    # Find the latent direction that raises the register most, then check that walking along
    # it really makes higher melodies.
    latents = melodies.sample(64, np.random.default_rng(7))
    register = melodies.features(melodies.generate(latents))[:, 0]
    up = np.linalg.lstsq(latents, register - register.mean(), rcond=None)[0]
    assert dict(melodies.describe(up))["register"] > 0.3
    moved = melodies.features(
        melodies.generate(melodies.project(latents + 2.0 * up / np.linalg.norm(up)))
    )
    assert moved[:, 0].mean() > register.mean()
