"""`fnosweep diagnose STUDY` names the curve pruner's stops with their numbers."""

from __future__ import annotations

from fnosweep.conclude import SweepTrial, conclude, render_sweep
from fnosweep.history import EpochRecord, History, RunInfo
from fnosweep.pruners import explain


def _history(values: list[float]) -> History:
    return History(RunInfo(epochs=24), tuple(EpochRecord(epoch=i, train_loss=v, eval={"16_l2": v})
                                             for i, v in enumerate(values)))


def test_the_pruning_part_names_the_trial_the_epoch_the_projection_and_the_best():
    attr = {"why": "hopeless", "step": 6, "value": 0.1365, "end_step": 23, "predicted": 0.1301,
            "optimistic": 0.1187, "best": 0.06, "best_trial": 0, "confidence": 0.9, "margin": 0.0,
            "rank": 1}
    reason = explain(attr, metric="eval.16_l2", unit="epoch")
    best = [0.5 * 0.88**i + 0.05 for i in range(24)]
    trials = [SweepTrial(0, "COMPLETE", {"training.lr": 1e-3}, best[-1], _history(best)),
              SweepTrial(1, "PRUNED", {"training.lr": 1e-4}, None,
                         _history([0.5, 0.2, 0.15, 0.14, 0.138, 0.137, 0.1365]), prune_reason=reason)]
    c = conclude(trials, metric="eval.16_l2", epochs_budget=24)
    assert c.pruned == {"curve pruner": 1} and c.curve_prunes == ((1, reason),)
    text = render_sweep(c)
    assert "1 trial pruned: curve pruner 1. Epochs run: " in " ".join(text.split())
    assert ("The curve pruner stopped: - trial 1: eval.16_l2 0.1365 at "
            "epoch 6 points to 0.1301 at epoch 23 (0.1187 at best, 90 % one-sided), worse than 0.06, "
            "the best finished trial (trial 0).") in " ".join(text.split())


def test_many_curve_stops_list_ten_with_their_numbers_and_name_the_rest():
    attr = {"why": "hopeless", "step": 3, "value": 0.3, "end_step": 23, "predicted": 0.25,
            "optimistic": 0.2, "best": 0.06, "best_trial": 0, "confidence": 0.8}
    best = [0.5 * 0.88**i + 0.05 for i in range(24)]
    trials = [SweepTrial(0, "COMPLETE", {"training.lr": 1e-3}, best[-1], _history(best))]
    trials += [SweepTrial(n, "PRUNED", {"training.lr": 1e-4}, None, _history([0.5, 0.4, 0.35, 0.3]),
                          prune_reason=explain(attr, metric="eval.16_l2", unit="epoch"))
               for n in range(1, 13)]
    text = " ".join(render_sweep(conclude(trials, metric="eval.16_l2", epochs_budget=24)).split())
    assert text.count(": eval.16_l2 0.3 at epoch 3 points to") == 10
    assert "- trial 10: eval.16_l2 0.3 at epoch 3" in text
    assert "- and 2 more: trials 11, 12 (`--trial N` gives each)." in text
