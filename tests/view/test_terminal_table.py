"""The table and counts at the end of `fnosweep run`: one line per trial at 100 columns,
every searched knob in its own short column, parameter values rounded the same everywhere."""

from __future__ import annotations

import pytest
from rich.console import Console

from fnosweep.diagnose import fmt
from fnosweep.sweep.result import SweepResult, TrialSummary, prune_rule, short_name, state_counts, verdict_counts
from fnosweep.view.live import best_table, summary_lines

# The quickstart's search space (sweeps/lr_clip.yaml), with values as Optuna returns them.
QUICKSTART = [
    (3, "COMPLETE", 0.0731, {"training.lr": 0.015995794663276185, "training.clip_threshold": None,
                              "training.scheduler.type": "cosine", "training.batch_size": 16,
                              "model.hidden_channels": 48}, 12, "healthy", None),
    (7, "COMPLETE", 0.08123, {"training.lr": 0.00123456789, "training.clip_threshold": 10.0,
                               "training.scheduler.type": "step", "training.scheduler.step_size": 4,
                               "training.batch_size": 8, "model.hidden_channels": 32}, 12, "healthy", None),
    (9, "COMPLETE", 0.1049, {"training.lr": 0.000251234, "training.clip_threshold": 0.5,
                              "training.scheduler.type": "plateau", "training.batch_size": 32,
                              "model.hidden_channels": 16}, 12, "learning_slowly", None),
    (11, "PRUNED", 0.2213, {"training.lr": 0.0042, "training.clip_threshold": 1.0,
                             "training.scheduler.type": "plateau", "training.batch_size": 32,
                             "model.hidden_channels": 16}, 3, "healthy",
     "median pruner: eval.32_l2 = 0.2213 at epoch 2"),
    (13, "COMPLETE", 0.1500, {"training.lr": 0.1, "training.clip_threshold": 10.0,
                               "training.scheduler.type": "step", "training.scheduler.step_size": 2,
                               "training.batch_size": 16, "model.hidden_channels": 48}, 12,
     "exploding_gradients", None),
    (6, "PRUNED", None, {"training.lr": 0.28, "training.clip_threshold": None, "training.scheduler.type": "cosine",
                         "training.batch_size": 8, "model.hidden_channels": 48}, 1, "diverged",
     "diverged: non-finite training loss at epoch 0"),
]  # fmt: skip


def result() -> SweepResult:
    trials = tuple(TrialSummary(n, s, v, p, e, verdict, reason) for n, s, v, p, e, verdict, reason in QUICKSTART)
    return SweepResult("lr_clip", "sqlite:///studies/lr_clip.db", "minimize", "eval.32_l2", trials, False)


def test_the_quickstart_table_fits_100_columns_one_line_per_trial():
    console = Console(width=100, record=True, color_system=None)
    console.print(best_table(result()))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if line.split()[:1] == ["trial"])
    for short in ("lr", "clip", "sched", "step", "bs", "width", "verdict", "eval.32_l2"):
        assert f" {short}" in f" {header}", short
    rows = {line.split()[0]: line for line in lines if line.strip() and line.split()[0].isdigit()}
    assert sorted(rows, key=int) == ["3", "7", "9", "13"]  # the complete ones, best first: one line each
    assert rows["3"].split()[5:] == ["0.016", "none", "cosine", "-", "16", "48"]
    assert rows["9"].split()[5:] == ["2.512e-4", "0.5", "plateau", "-", "32", "16"]
    assert "learning_slowly" in rows["9"] and "exploding_gradients" in rows["13"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.015995794663276185, "0.016"),
        (1e-4, "1e-4"),
        (0.00025123, "2.512e-4"),
        (0.3, "0.3"),
        (10.0, "10"),
        (0.5, "0.5"),
        (1234.5678, "1235"),
        (123456.7, "1.235e5"),
        (None, "none"),
        (16, "16"),
        ("cosine", "cosine"),
    ],
)
def test_parameter_values_are_printed_to_four_significant_digits(value, text):
    assert fmt.param(value) == text


@pytest.mark.parametrize(
    ("key", "short"),
    [
        ("training.lr", "lr"),
        ("training.clip_threshold", "clip"),
        ("training.scheduler.type", "sched"),
        ("training.scheduler.step_size", "step"),
        ("training.batch_size", "bs"),
        ("model.hidden_channels", "width"),
        ("model.n_layers", "layers"),
        ("model.lifting_ratio", "lifting_ratio"),
        ("lr", "lr"),
    ],
)
def test_knob_headers_are_short(key, short):
    assert short_name(key) == short


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        ("diverged: non-finite training loss at epoch 0", "diverged"),
        ("exploding_gradients: p95 grew 346x", "exploding_gradients"),
        ("median pruner: eval.32_l2 = 0.41 at epoch 2", "median pruner"),
        (None, "pruner"),
    ],
)
def test_prune_rule_is_the_text_before_the_colon(reason, rule):
    assert prune_rule(reason) == rule


def test_counts_say_what_they_count():
    # The case: 6 complete and 10 pruned must not read "healthy 12" as finished runs.
    outcomes = [("COMPLETE", "healthy", None)] * 6 + [("PRUNED", "healthy", "median pruner: x")] * 6
    outcomes += [("PRUNED", "diverged", "diverged: non-finite loss")] * 4 + [("FAIL", None, "timed out")]
    assert state_counts(outcomes) == "17 trials: 6 complete, 10 pruned (6 median pruner, 4 diverged), 1 failed"
    assert verdict_counts(outcomes) == (
        "Verdicts: healthy 6 of the 6 complete; healthy 6, diverged 4 of the 10 pruned "
        "(as of the epoch each was stopped); no verdict 1 of the 1 failed"
    )
    assert state_counts([]) == "0 trials: 0 complete, 0 pruned, 0 failed"


def test_summary_lines_count_and_explain_the_columns():
    lines = summary_lines(result(), "sweeps/lr_clip.yaml")
    assert lines[0] == "6 trials: 4 complete, 2 pruned (1 diverged, 1 median pruner), 0 failed."
    assert lines[1].startswith("Verdicts: healthy 2, exploding_gradients 1, learning_slowly 1 of the 4 complete; ")
    assert "clip = training.clip_threshold" in lines[2]
