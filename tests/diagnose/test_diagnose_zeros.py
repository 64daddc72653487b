"""Histories with measured zeros (a zero gradient norm, loss, eval or lr): every rule and the
text must judge them without dividing by the zero."""

from __future__ import annotations

import pytest
from diag_builders import decay, make

from fnosweep.diagnose import VERDICTS, diagnose, render_trial, time_to_target

N = 12
FALL = decay(N, 1.0, 0.05)

ROWS = [
    # id, history, verdict (None: any), a code that must be there (or None)
    (
        "first grad norm 0 then rising, clipping holds it",
        make(
            FALL,
            eval=decay(N, 0.9, 0.06),
            lr=1e-4,
            gmed=[0.0] + decay(N - 1, 0.2, 3.0),
            clip=[0.0] * (N - 2) + [0.02, 0.1],
            clip_threshold=5.0,
        ),
        "healthy",
        "gradient_growth",
    ),
    (
        "first grad norm 0 then exploding under clipping",
        make(
            [0.9] * 7,
            lr=1e-4,
            gmed=[0.0, 1.0, 3.0, 8.0, 20.0, 35.0, 50.0],
            clip=[0.0, 0.0, 0.1, 0.4, 0.7, 0.9, 0.95],
            clip_threshold=10.0,
        ),
        "exploding_gradients",
        "exploding_gradients",
    ),
    (
        "first grad norm 0 then exploding unclipped",
        make(FALL[:6], lr=1e-3, gmed=[0.0, 0.1, 0.5, 2.0, 6.0, 30.0]),
        None,
        None,
    ),
    ("all grad norms 0", make(FALL, gmed=0.0, clip=0.0, lr=1e-3), "healthy", None),
    (
        "zero loss before an lr jump",
        make([1.0, 0.5, 0.0, 0.4, 0.0, 0.0], lr=[1e-4, 1e-4, 1e-4, 1e-3, 1e-3, 1e-3]),
        None,
        None,
    ),
    ("zero loss throughout", make([0.0] * N, eval=[0.0] * N, lr=1e-3), None, None),
    ("zero loss first then rising", make([0.0] + [0.1 * i for i in range(1, N)], lr=1e-3), None, None),
    (
        "zero eval first, over-parameterised",
        make(FALL, eval=[0.0] + [0.1 + 0.01 * i for i in range(N - 1)], lr=1e-3, n_params=5_000_000, n_train=1_000),
        None,
        "overparameterized",
    ),
    ("zero eval at its best then worse", make(FALL, eval=[0.5, 0.2, 0.0] + [0.3] * (N - 3)), None, None),
    ("zero lr", make([0.9] * N, eval=[0.85] * N, lr=0.0, gmed=1.0, clip=0.0), "plateau", "plateau"),
    (
        "zero weight decay and clip threshold",
        make(FALL, gmed=2.0, clip=0.9, weight_decay=0.0, clip_threshold=0.0),
        "healthy",
        "heavy_clipping",
    ),
    ("zero training samples and parameters", make(FALL, n_params=0, n_train=0), None, None),
]


@pytest.mark.parametrize(("name", "history", "verdict", "code"), ROWS, ids=[r[0] for r in ROWS])
def test_measured_zeros_are_judged_without_dividing_by_them(name, history, verdict, code):
    d = diagnose(history)
    assert d.verdict in VERDICTS
    if verdict is not None:
        assert d.verdict == verdict, [(f.code, f.severity, f.evidence) for f in d.findings]
    if code is not None:
        assert d.by_code(code) is not None, [f.code for f in d.findings]
    text = render_trial(d, history)
    assert text.startswith(f"# Diagnosis: {d.verdict}")


def test_a_first_grad_norm_of_zero_reads_as_growth_from_zero():
    d = diagnose(ROWS[0][1])
    assert "0 → " in d.by_code("gradient_growth").evidence
    assert "up from 0" in d.by_code("gradient_growth").evidence


def test_a_zero_eval_has_reached_any_target():
    h = make(FALL, eval=[0.5, 0.3, 0.2, 0.0])
    ttt = time_to_target(h, 0.01)
    assert ttt.status == "reached" and ttt.epoch == 3 and ttt.last_value == 0.0
