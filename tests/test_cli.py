import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plgl.cli import main
from plgl.generators import faces
from plgl.generators.faces import MissingWeightsError
from plgl.server import Settings
from plgl.server import command as serve_command
from plgl.server.app import build_generator


def test_demo_runs_to_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dim", "4", "--ratings", "20", "--delay", "0"]) == 0
    assert "After 20 ratings" in capsys.readouterr().out


def test_bad_option_is_a_usage_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--dim", "0"])
    assert exit_info.value.code == 2
    assert "--dim" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["demo"], ["bench"], ["serve"], ["pregenerate"]])
def test_help_imports_no_heavy_dependency(command: list[str]) -> None:
    """`plgl [cmd] --help` in a fresh interpreter: usage printed, torch & co. never imported."""
    probe = (
        "import sys\n"
        "from plgl.cli import main\n"
        "try:\n"
        f"    main({[*command, '--help']!r})\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "heavy = ('torch', 'sklearn', 'scipy', 'fastapi', 'plgl.bench.users', 'plgl.session')\n"
        "print('loaded:', sorted(set(heavy) & set(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.startswith("usage: plgl")
    assert done.stdout.rstrip().endswith("loaded: []")


def _no_face_weights() -> Path:
    raise MissingWeightsError("the faces generator needs the DCGAN weights (test: removed)")


def test_serve_without_face_weights_falls_back_to_identity(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr(faces, "weights_path", _no_face_weights)
    settings = Settings(storage="memory://", secret="s" * 32, data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="plgl.server"):
        assert serve_command._check(settings) == "identity"
        assert build_generator(settings).name == "identity"
    assert "serving identity instead" in caplog.text
    # A domain asked for by name is not swapped for another: a usage error says why.
    with pytest.raises(ValueError, match="faces domain cannot start"):
        serve_command._check(Settings(domain="faces", storage="memory://", secret="s" * 32))


@pytest.mark.parametrize(("flag", "logged"), [([], True), (["--no-access-log"], False)])
def test_serve_access_log_can_be_turned_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flag: list[str], logged: bool
) -> None:
    import uvicorn

    started: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(options))
    monkeypatch.setattr(os, "environ", dict(os.environ))  # `serve` hands settings over by it
    args = ["serve", "--domain", "identity", "--storage", "memory://", "--data-dir", str(tmp_path)]
    assert main([*args, *flag]) == 0
    assert started["access_log"] is logged
