"""The curve pruner's decision as a table: values in, prune or keep and why out."""

from __future__ import annotations

import pytest

from fnosweep.pruners import CurveSettings, decide

NAN = float("nan")
BEST = [(0, 0.06)]  # trial 0 finished at 0.06


def pts(*values: float) -> list[tuple[int, float]]:
    return list(enumerate(values))


# (id, points, finished, settings, minimize, prune?, why)
TABLE = [
    ("slow starter kept: far above the best but falling by a steady factor",
     pts(1.0, 0.7, 0.5, 0.36, 0.26), BEST, CurveSettings(), True, False, "hopeful"),
    ("early flattener pruned: levelled off at twice the best",
     pts(0.5, 0.2, 0.15, 0.14, 0.138, 0.137, 0.1365), BEST, CurveSettings(), True, True,
     "hopeless"),
    ("noisy but falling kept: the noise widens the bound",
     pts(0.5, 0.35, 0.42, 0.28, 0.33, 0.22, 0.26, 0.18), [(0, 0.1)], CurveSettings(), True,
     False, "hopeful"),
    ("the first trial of a study is never pruned: nothing finished to compare with",
     pts(0.5, 0.2, 0.15, 0.14, 0.138, 0.137, 0.1365), [], CurveSettings(), True, False,
     "startup"),
    ("n_startup_trials: one finished trial is not enough for 2",
     pts(0.5, 0.2, 0.15, 0.14, 0.138, 0.137, 0.1365), BEST, CurveSettings(n_startup_trials=2),
     True, False, "startup"),
    ("warm-up: no decision before step n_warmup_steps",
     pts(0.5, 0.5), BEST, CurveSettings(), True, False, "warmup"),
    ("a NaN latest value is pruned at once",
     pts(0.5, 0.2, NAN), BEST, CurveSettings(), True, True, "non_finite"),
    ("an earlier NaN is left out of the fit",
     pts(0.5, 0.2, 0.15, NAN, 0.14, 0.138, 0.137, 0.1365), BEST, CurveSettings(), True, True,
     "hopeless"),
    ("a finished trial without a finite value does not count",
     pts(0.5, 0.2, 0.15, 0.14, 0.138, 0.137, 0.1365), [(0, NAN)], CurveSettings(), True, False,
     "startup"),
    ("maximize: an accuracy levelled off far below the best is pruned",
     pts(0.3, 0.5, 0.58, 0.6, 0.605, 0.607, 0.608), [(0, 0.9)], CurveSettings(), False, True,
     "hopeless"),
    ("maximize: an accuracy still climbing fast is kept",
     pts(0.1, 0.2, 0.32, 0.45, 0.55), [(0, 0.9)], CurveSettings(), False, False, "hopeful"),
    ("margin: levelled off 5 % above the best, kept with a 10 % margin",
     pts(0.2, 0.07, 0.0635, 0.0632, 0.0631, 0.063), BEST, CurveSettings(margin=0.1), True,
     False, "hopeful"),
    ("no margin: the same trial is pruned",
     pts(0.2, 0.07, 0.0635, 0.0632, 0.0631, 0.063), BEST, CurveSettings(), True, True,
     "hopeless"),
    ("rank 2: compared with the second best finished trial",
     pts(0.2, 0.07, 0.0635, 0.0632, 0.0631, 0.063), [(0, 0.06), (1, 0.07)],
     CurveSettings(n_startup_trials=2, rank=2), True, False, "hopeful"),
    ("the last step is never pruned: the trial is done",
     [(s, 0.2) for s in range(24)], BEST, CurveSettings(), True, False, "warmup"),
]


@pytest.mark.parametrize(("points", "finished", "settings", "minimize", "prune", "why"),
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_curve_decision(points, finished, settings, minimize, prune, why):
    d = decide(points, finished, end_step=23, minimize=minimize, settings=settings)
    assert (d.prune, d.why) == (prune, why)


# A 60-epoch Darcy trial on its plateau while the cosine lr is still high (the values of seed
# 0's best, trial 8, epochs 0-7, eval L2) against the trial that had finished: it ended at
# 0.054 after sitting near 0.1 at the same epochs.
PLATEAU = pts(0.504, 0.318, 0.183, 0.128, 0.117, 0.121, 0.117, 0.125)
FELL_LATER = pts(0.608, 0.700, 0.285, 0.347, 0.222, 0.132, 0.121, 0.112, 0.105, 0.054)
FLAT_AFTER = pts(0.608, 0.700, 0.285, 0.347, 0.222, 0.132, 0.121, 0.112, 0.105, 0.104)
EXPERIENCE = [
    ("a plateau is kept while a finished trial fell from the same step to below it",
     PLATEAU, [(0, 0.054)], [FELL_LATER], CurveSettings(), True, False),
    ("without the finished curves its own flat curve alone prunes it",
     PLATEAU, [(0, 0.054)], [], CurveSettings(), True, True),
    ("headroom None: the finished curves are not read",
     PLATEAU, [(0, 0.054)], [FELL_LATER], CurveSettings(headroom=None), True, True),
    ("a finished trial that gained little from this step does not save it",
     PLATEAU, [(0, 0.054)], [FLAT_AFTER], CurveSettings(), True, True),
    ("maximize: an accuracy plateau is kept while a finished trial climbed that far",
     pts(0.5, 0.7, 0.8, 0.81, 0.80, 0.81, 0.80, 0.805), [(0, 0.95)],
     [pts(0.5, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.95)], CurveSettings(), False, False),
]


@pytest.mark.parametrize(("points", "finished", "curves", "settings", "minimize", "prune"),
                         [row[1:] for row in EXPERIENCE], ids=[row[0] for row in EXPERIENCE])
def test_the_finished_trials_gains_keep_a_trial_its_own_curve_gives_up(points, finished, curves,
                                                                      settings, minimize, prune):
    d = decide(points, finished, end_step=59, minimize=minimize, settings=settings, curves=curves)
    assert d.prune == prune
    assert (d.experienced is None) == (not curves or settings.headroom is None)


def test_the_experienced_bound_is_the_trials_best_carried_headroom_times_the_largest_gain():
    d = decide(PLATEAU, [(0, 0.054)], end_step=59, minimize=True, settings=CurveSettings(),
               curves=[FELL_LATER, FLAT_AFTER])
    # trial 0 went from 0.112 (its best by step 7) to 0.054; the trial's best is 0.117
    assert d.experienced == pytest.approx(0.117 * (0.054 / 0.112) ** 1.5)


def test_a_pruned_trial_carries_the_numbers_it_was_judged_on():
    d = decide(pts(0.5, 0.2, 0.15, 0.14, 0.138, 0.137, 0.1365), [(3, 0.06), (4, 0.08)],
               end_step=23, minimize=True, settings=CurveSettings())
    assert d.prune and (d.step, d.value, d.end_step, d.best, d.best_trial) == (6, 0.1365, 23, 0.06, 3)
    assert d.best < d.optimistic <= d.predicted < d.value


@pytest.mark.parametrize(("args", "message"), [
    ({"n_startup_trials": 0}, "n_startup_trials must be an integer >= 1, but got n_startup_trials=0"),
    ({"n_warmup_steps": 1}, "n_warmup_steps must be an integer >= 2"),
    ({"confidence": 1.0}, "confidence must be in [0.5, 1), but got confidence=1.0"),
    ({"margin": -0.1}, "margin must be a finite number >= 0, but got margin=-0.1"),
    ({"rank": 2}, "rank must be an integer from 1 to n_startup_trials (1), but got rank=2"),
    ({"headroom": 0}, "headroom must be a finite number > 0 or null, but got headroom=0"),
])
def test_bad_settings_are_refused_with_the_value(args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        CurveSettings(**args)
