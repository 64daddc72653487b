"""The spec's `stability` section: a threshold out of its range is one SpecError line naming
the file, the line, the key path and the bad value; `fnosweep diagnose --target` refuses a
target <= 0 the same way (one line, exit 1)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fnosweep.errors import SpecError
from fnosweep.space import load_spec

HEAD = "study: {name: t, n_trials: 2}\nsearch: {training.lr: {type: float, low: 1.0e-5, high: 0.1, log: true}}\n"

BAD = [
    # id, stability section (its first key on line 4), line, key path, bad value as shown
    ("target 0", "target: 0", 4, "stability -> target", "must be > 0, but got 0.0"),
    ("target < 0", "target: -0.1", 4, "stability -> target", "-0.1"),
    (
        "clip fraction > 1",
        "explode_clip_fraction: 1.5",
        4,
        "stability -> explode_clip_fraction",
        "must be in [0, 1] (a fraction), but got 1.5",
    ),
    ("growth factor 1", "explode_growth: 1", 4, "stability -> explode_growth", "1.0"),
    ("lr jump < 1", "lr_jump: 0.5", 4, "stability -> lr_jump", "0.5"),
    ("trend window 2", "trend_window: 2", 4, "stability -> trend_window", "2"),
    ("plateau patience 1", "plateau_patience: 1", 4, "stability -> plateau_patience", "1"),
    ("overfit patience 0", "overfit_patience: 0", 4, "stability -> overfit_patience", "0"),
    ("min epochs 0", "explode_min_epochs: 0", 4, "stability -> explode_min_epochs", "0"),
    ("region trials 0", "region_min_trials: 0", 4, "stability -> region_min_trials", "0"),
    (
        "second key is the bad one",
        "explode_growth: 20\n  slow_budget_factor: 0.5",
        5,
        "stability -> slow_budget_factor",
        "0.5",
    ),
]


def refused(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> str:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("section", "line", "path", "value"), [r[1:] for r in BAD], ids=[r[0] for r in BAD])
def test_a_threshold_out_of_range_names_line_path_and_value(tmp_path, section, line, path, value):
    message = refused(tmp_path, HEAD + "stability:\n  " + section + "\n")
    assert message.startswith(f"{tmp_path / 'x.yaml'}:{line}: {path}: "), message
    assert message.endswith(value), message


def test_a_threshold_set_from_the_command_line_is_refused_too(tmp_path):
    message = refused(tmp_path, HEAD, ("stability.target=0",))
    assert "stability -> target: must be > 0, but got 0.0" in message


def test_thresholds_in_range_parse(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(
        HEAD
        + textwrap.dedent("""\
        stability: {target: 0.05, explode_clip_fraction: 1.0, plateau_patience: 2,
                    trend_window: 3, overfit_eval_rise: 0}
        """)
    )
    th = load_spec(path).stability.thresholds
    assert (th.target, th.explode_clip_fraction, th.plateau_patience) == (0.05, 1.0, 2)


HISTORY = '{"kind": "run", "lr": 0.001}\n' + "".join(
    f'{{"kind": "epoch", "epoch": {i}, "train_loss": {0.9**i}}}\n' for i in range(5)
)


@pytest.mark.parametrize("target", ["0", "-0.5", "nan"])
def test_diagnose_refuses_a_target_that_is_not_positive(tmp_path, target):
    history = tmp_path / "h.jsonl"
    history.write_text(HISTORY)
    out = subprocess.run(
        [sys.executable, "-m", "fnosweep.cli", "diagnose", "--history", str(history), "--target", target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "--target must be a finite number > 0, but got" in out.stderr


def test_diagnose_takes_a_positive_target(tmp_path):
    history = tmp_path / "h.jsonl"
    history.write_text(HISTORY)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fnosweep.cli",
            "diagnose",
            "--history",
            str(history),
            "--target",
            "0.5",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
