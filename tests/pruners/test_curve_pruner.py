"""CurvePruner in real Optuna studies: crossing curves, parallel trials, samplers, spec."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from fnosweep.pruners import ATTR, CurvePruner, explain
from fnosweep.testing import crossing_curves

optuna.logging.set_verbosity(optuna.logging.ERROR)


def run(pruner: optuna.pruners.BasePruner, curves: dict[int, list[float]],
        sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
    """The curves as trials, one at a time, each stopped where the pruner says."""
    study = optuna.create_study(pruner=pruner, sampler=sampler)
    for values in curves.values():
        trial = study.ask()
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        for step, value in enumerate(values):
            trial.report(value, step)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, values[-1])
    return study


def epochs_run(study: optuna.Study) -> int:
    return sum(len(t.intermediate_values) for t in study.trials)


CURVES = crossing_curves()
TRUE_BEST = min(v[-1] for v in CURVES.values())


@pytest.mark.parametrize("pruner", [
    optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
    optuna.pruners.PercentilePruner(25.0, n_startup_trials=3, n_warmup_steps=2),
    optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4),
], ids=["median", "percentile", "successive_halving"])
def test_on_crossing_curves_optunas_pruners_stop_the_slow_starter_that_ends_best(pruner):
    assert run(pruner, CURVES).best_value > 1.2 * TRUE_BEST


def test_on_crossing_curves_the_curve_pruner_keeps_it_and_stops_the_flat_ones():
    study = run(CurvePruner(max_resource=23), CURVES)
    assert study.best_value == TRUE_BEST
    pruned = {t.number for t in study.trials if t.state == TrialState.PRUNED}
    assert {1, 3, 7} <= pruned  # the trials levelling off at 0.20-0.30, 2-6x the best
    assert epochs_run(study) < 0.8 * sum(len(v) for v in CURVES.values())


def test_a_pruned_trial_says_why_in_a_user_attribute():
    study = run(CurvePruner(max_resource=23), CURVES)
    trial = next(t for t in study.trials if t.state == TrialState.PRUNED)
    attr = trial.user_attrs[ATTR]
    assert attr["why"] == "hopeless" and attr["step"] == max(trial.intermediate_values)
    assert attr["best"] == min(t.value for t in study.trials[: trial.number]
                               if t.state == TrialState.COMPLETE)
    text = explain(attr, metric="eval.16_l2", unit="epoch")
    assert text.startswith(f"curve pruner: eval.16_l2 {attr['value']:.4g} at epoch {attr['step']} "
                           f"points to {attr['predicted']:.4g} at epoch 23 "
                           f"({attr['optimistic']:.4g} at best, 80 % one-sided; "
                           f"{attr['experienced']:.4g} with 1.5× the largest gain a finished trial "
                           f"made from epoch {attr['step']}), worse than ")
    assert text.endswith(f"the best finished trial (trial {attr['best_trial']})")


def test_or_pruner_also_prunes_what_the_other_pruner_would():
    alone = run(CurvePruner(max_resource=23), CURVES)
    both = run(CurvePruner(max_resource=23, or_pruner=optuna.pruners.MedianPruner(3, 2)), CURVES)
    assert epochs_run(both) < epochs_run(alone)


def test_auto_max_resource_is_the_finished_trials_last_step():
    assert (epochs_run(run(CurvePruner(), CURVES))
            == epochs_run(run(CurvePruner(max_resource=23), CURVES)))


def test_parallel_trials_are_judged_on_finished_trials_only():
    """Two trials report in turn (max_concurrent 2): a running trial is never the best."""
    study = optuna.create_study(pruner=CurvePruner(max_resource=23))
    first = study.ask()
    for step, value in enumerate(CURVES[0]):
        first.report(value, step)
    study.tell(first, CURVES[0][-1])
    a, b = study.ask(), study.ask()
    stopped = {}
    for step in range(24):
        for trial, values in ((a, CURVES[1]), (b, CURVES[2])):
            if trial.number in stopped:
                continue
            trial.report(values[step], step)
            if trial.should_prune():
                stopped[trial.number] = step
    assert list(stopped) == [a.number]  # 0.20 levels off above 0.12; 0.10 ends below it


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("sampler", [
    lambda: optuna.samplers.TPESampler(seed=0, n_startup_trials=3, constant_liar=True),
    lambda: optuna.samplers.RandomSampler(seed=0),
    lambda: optuna.samplers.QMCSampler(seed=0),
], ids=["tpe", "random", "qmc"])
def test_it_works_with_every_sampler(sampler):
    study = run(CurvePruner(max_resource=23), CURVES, sampler())
    assert study.best_value == TRUE_BEST
    assert any(t.state == TrialState.PRUNED for t in study.trials)


def test_bad_arguments_are_refused_with_the_value():
    with pytest.raises(ValueError, match="max_resource must be 'auto' or an integer >= 0, but got "
                                         "max_resource=-1"):
        CurvePruner(max_resource=-1)
    with pytest.raises(ValueError, match="or_pruner must be an Optuna pruner"):
        CurvePruner(or_pruner="median")  # type: ignore[arg-type]
