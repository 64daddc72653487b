"""Model size against data: parameters per training sample.

A problem when eval is worsening (the capacity is being used to memorise), a warning while
eval still improves. The anchor, quoted only when the rule fires: the FNO paper's FNO-2D,
414,517 parameters, 0.0128 relative L2 on Navier-Stokes with viscosity 1e-3.
"""

from __future__ import annotations

from fnosweep.diagnose import fmt
from fnosweep.diagnose.context import Context, Result
from fnosweep.diagnose.curve import level
from fnosweep.diagnose.findings import Finding, Severity

FNO2D_PAPER_PARAMS = 414_517
FNO2D_PAPER_L2 = 0.0128


def overparam_rule(ctx: Context) -> Result:
    run = ctx.run
    if not run.n_params or not run.n_train:
        what = " and ".join(n for n, v in (("n_params", run.n_params), ("n_train", run.n_train))
                            if not v)
        return [], [f"model size: the run line has no {what}"]
    pps = run.n_params / run.n_train
    if pps < ctx.th.overparam_ratio:
        return [], []
    worsening = eval_worsening(ctx)
    severity: Severity = "problem" if worsening else "warning"
    aim = max(int(ctx.th.overparam_ratio * run.n_train), 1)
    evidence = (f"{run.n_params:,} parameters for {run.n_train:,} training samples = "
                f"{pps:,.0f} per sample ({fmt.factor(pps / ctx.th.overparam_ratio)} the "
                f"{ctx.th.overparam_ratio:,.0f} threshold); for scale, the FNO paper's FNO-2D "
                f"has {FNO2D_PAPER_PARAMS:,} parameters "
                f"({fmt.factor(run.n_params / FNO2D_PAPER_PARAMS)} fewer) and reaches "
                f"{FNO2D_PAPER_L2} relative L2 on Navier–Stokes ν=1e-3")
    if ctx.eval is None:
        evidence += "; no eval metric to tell whether it memorises"
    elif worsening:
        evidence += f"; eval is worsening ({_eval_change(ctx)}): the capacity goes to memorising"
    else:
        evidence += f"; eval still improves ({_eval_change(ctx)})"
    action = (f"reduce hidden_channels or n_modes: aim below ~{aim:,} parameters "
              f"({ctx.th.overparam_ratio:,.0f} per sample, ÷{run.n_params / aim:.1f}); the "
              "spectral weights grow as hidden_channels² × n_modes per dimension, so halving "
              "hidden_channels or both n_modes cuts them ~4×; or train on more samples.")
    return [Finding("overparameterized", severity, None, evidence + ".", action,
                    {"n_params": run.n_params, "n_train": run.n_train,
                     "params_per_sample": round(pps, 1), "aim_params": aim})], []


def eval_worsening(ctx: Context) -> bool:
    if ctx.eval is None or len(ctx.eval) < 2:
        return False
    return level(ctx.eval.values, at_end=True, k=2) > ctx.eval.values[0]


def _eval_change(ctx: Context) -> str:
    assert ctx.eval is not None
    v0, v1 = ctx.eval.values[0], ctx.eval.values[-1]
    change = fmt.pct((v1 - v0) / v0) if v0 else "from 0"
    return f"{ctx.eval.name} {fmt.num(v0)} → {fmt.num(v1)}, {change}"
