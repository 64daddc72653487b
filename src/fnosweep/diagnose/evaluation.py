"""Eval that never followed the training loss: suspect the evaluation pipeline.

Train and eval are the same relative loss per sample, so a model's eval starts near its
training loss and follows it down (it may rise later: overfitting). An eval `eval_gap_factor`
or more times the training loss from the first epoch on, that does not fall while the
training loss does, is a pipeline that scores something else: outputs not decoded
(normalisation), targets at another scale, the wrong resolution.
"""

from __future__ import annotations

from collections.abc import Collection

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.context import Context, Result
from fnosweep.diagnose.findings import Finding, Step, action_text
from fnosweep.diagnose.progress import progress


def eval_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    if ctx.eval is None or ctx.loss is None or ctx.loss.name != "train_loss":
        return [], []  # train_err is per batch: not on the eval's scale
    train = dict(ctx.loss.points)
    pairs = [(e, v, train[e]) for e, v in ctx.eval.points if e in train and train[e] > 0]
    if len(pairs) < 3:
        return [], []
    gaps = [v / t for _, v, t in pairs]
    follows = progress(ctx.eval) >= progress(ctx.loss) / 4 or claims.direction(
        ctx.eval.points, ctx.th.trend_z) == "falls"
    if min(gaps) < ctx.th.eval_gap_factor or follows or progress(ctx.loss) < 0.1:
        return [], []
    (e0, v0, t0), (e1, v1, t1) = pairs[0], pairs[-1]
    evidence = (f"eval {ctx.eval.name} {fmt.num(v0)} at epoch {e0} against train loss "
                f"{fmt.num(t0)} ({fmt.factor(v0 / t0)}), and {fmt.num(v1)} against "
                f"{fmt.num(t1)} at epoch {e1} ({fmt.factor(v1 / t1)}): at least "
                f"{fmt.factor(min(gaps))} the training loss in every epoch, and not following "
                f"it down (train {fmt.pct(-progress(ctx.loss))}, eval "
                f"{fmt.pct(-progress(ctx.eval))}, first three epochs' median to the last three's)")
    if v1 >= 2:
        evidence += f"; {fmt.factor(v1)} a zero output's relative L2 of 1.0"
    steps = (Step("eval", "check", "check the evaluation pipeline before the model: are the "
                                   "outputs decoded (normaliser inverse) before they are "
                                   "scored, are the targets on the training targets' scale, is "
                                   "the test set the same problem and resolution"),)
    return [Finding("eval_mismatch", "warning", e0, evidence + ".", action_text(steps),
                    {"first_gap": round(v0 / t0, 3), "min_gap": round(min(gaps), 3),
                     "last_eval": v1, "last_train": t1}, steps)], []
