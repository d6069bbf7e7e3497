import pytest

from plgl.cli import main


def test_demo_runs_to_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dim", "4", "--ratings", "20", "--delay", "0"]) == 0
    assert "After 20 ratings" in capsys.readouterr().out


def test_bad_option_is_a_usage_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--dim", "0"])
    assert exit_info.value.code == 2
    assert "--dim" in capsys.readouterr().err
