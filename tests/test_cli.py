"""The ``w2s`` command line: JSON keys, exit code 2 with one line on bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from w2s.cli import main

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_theory_json_keys_on_every_example(example, capsys):
    assert main(["theory", "--config", str(example), "--method", "paper", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("teacher_risk", "student_risk", "gain", "relative_gain", "method", "problem"):
        assert key in out
    assert out["method"] == "paper"
    assert out["gain"] == pytest.approx(out["teacher_risk"] - out["student_risk"], rel=1e-12)
    assert set(out["problem"]) >= {"eta_l", "eta_u", "eta_t", "gamma", "nu", "T", "S", "mu_xi", "group_model"}


def test_theory_set_overrides_and_table(capsys):
    assert main(["theory", "--config", str(EXAMPLES[0]), "--set", "eta_u=0.25", "--method", "paper"]) == 0
    out = capsys.readouterr().out
    assert "eta_u=0.25" in out and "teacher_risk" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "eta_l=1.5"], "eta_l: must lie in [0, 1]"),
        (["--set", "nu=-1"], "nu: must be >= 0"),
        (["--set", "colour=1"], "colour: unknown key"),
        (["--set", "eta_l"], "--set: expected key=value"),
        (["--config", "no/such/file.toml"], "config: cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message, capsys):
    assert main(["theory", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_console_script_exit_code():
    """The installed entry point, as a user runs it: exit code 2 and no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "w2s.cli", "theory", "--set", "gamma=0"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "gamma: must be > 0" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "w2s.cli", "theory", "--method", "nope"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
