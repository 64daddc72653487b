"""Model size against data: parameters per training sample, judged by its consequences.

A problem when eval is worsening (the capacity is being used to memorise), a warning while
eval still improves, nothing once eval reached its target (the model generalises). The aim
never goes below a usable FNO (`USABLE_FNO_PARAMS`). The scale quoted is the reference model
of the same problem only (the run line's ``problem``): the FNO paper's FNO-2D on Darcy flow
(s=85) or on Navier–Stokes at the run's viscosity; with no problem on the run line, none.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.context import Context, Result
from fnosweep.diagnose.curve import level
from fnosweep.diagnose.findings import Finding, Severity, Step, action_text
from fnosweep.history import RunInfo

USABLE_FNO_PARAMS = 20_000
"""The smallest model the size rule ever asks for: about a 2-D FNO with hidden_channels 12,
6 modes per dimension and 3 layers (22,459 parameters as neuralop counts them), which reaches
0.1–0.2 relative L2 on 16×16 Darcy with 32 samples (examples/corpus)."""


@dataclass(frozen=True)
class Reference:
    what: str
    n_params: int
    l2: float


FNO2D_PAPER_PARAMS = 414_517
"""The FNO paper's FNO-2D (Navier–Stokes, Table 1)."""
DARCY = Reference("the FNO paper's FNO-2D on Darcy flow (s=85, 1,000 samples)", 2_368_001, 0.0108)
"""Width 32, 12 modes, 4 layers: 2,368,001 parameters as neuralop counts them (a complex
weight counts twice); 0.0108 relative L2 at s=85."""
NAVIER_STOKES = {
    1e-3: Reference("the FNO paper's FNO-2D on Navier–Stokes ν=1e-3 (1,000 samples)",
                    FNO2D_PAPER_PARAMS, 0.0128),
    1e-4: Reference("the FNO paper's FNO-2D on Navier–Stokes ν=1e-4 (10,000 samples)",
                    FNO2D_PAPER_PARAMS, 0.0834),
    1e-5: Reference("the FNO paper's FNO-2D on Navier–Stokes ν=1e-5 (1,000 samples)",
                    FNO2D_PAPER_PARAMS, 0.1556),
}


def reference(run: RunInfo) -> Reference | None:
    """The reference model of the run's problem, or None when the run line does not say it."""
    problem = str(run.extra.get("problem") or "").lower().replace("_", "-")
    if problem == "darcy":
        return DARCY
    if problem in ("navier-stokes", "ns"):
        nu = run.extra.get("viscosity", 1e-3)
        return NAVIER_STOKES.get(nu) if isinstance(nu, int | float) else None
    return None


def overparam_rule(ctx: Context, found: Collection[str] = ()) -> Result:
    run = ctx.run
    if not run.n_params or not run.n_train:
        what = " and ".join(n for n, v in (("n_params", run.n_params), ("n_train", run.n_train))
                            if not v)
        return [], [f"model size: the run line has no {what}"]
    pps = run.n_params / run.n_train
    if pps < ctx.th.overparam_ratio or run.n_params <= USABLE_FNO_PARAMS:
        return [], []
    worsening = eval_worsening(ctx)
    reached = ctx.eval is not None and level(ctx.eval.values, at_end=True) <= ctx.target
    if reached and not worsening:
        return [], []  # it generalises to the target: its size costs nothing measured
    severity: Severity = "problem" if worsening else "warning"
    aim = max(int(ctx.th.overparam_ratio * run.n_train), USABLE_FNO_PARAMS)
    evidence = (f"{run.n_params:,} parameters for {run.n_train:,} training samples = "
                f"{pps:,.0f} per sample ({fmt.factor(pps / ctx.th.overparam_ratio)} the "
                f"{ctx.th.overparam_ratio:,.0f} threshold)")
    ref = reference(run)
    if ref is not None:
        evidence += (f"; {claims.compare(run.n_params, ref.n_params)} than {ref.what}, "
                     f"{ref.n_params:,} parameters, {ref.l2} relative L2")
    if ctx.eval is None:
        evidence += "; no eval metric to tell whether it memorises"
    elif worsening:
        evidence += "; eval is worsening: the capacity goes to memorising"
    elif len(ctx.eval) < 2:
        evidence += "; one epoch of eval, too few to tell whether it memorises"
    elif min(ctx.eval.values[1:]) < ctx.eval.values[0]:
        evidence += "; eval still improves"
    else:
        evidence += "; eval is not worsening, nor better than at its first epoch"
    steps: tuple[Step, ...] = ()
    if aim < run.n_params:
        steps = (Step("model", "lower",
                      f"reduce hidden_channels or n_modes: aim below ~{aim:,} parameters "
                      f"(÷{run.n_params / aim:.1f}); the spectral weights grow as "
                      "hidden_channels² × n_modes per dimension, so halving hidden_channels or "
                      "both n_modes cuts them ~4×; or train on more samples"),)
    return [Finding("overparameterized", severity, None, evidence + ".",
                    action_text(steps) if steps else "none.",
                    {"n_params": run.n_params, "n_train": run.n_train,
                     "params_per_sample": round(pps, 1), "aim_params": aim}, steps)], []


def eval_worsening(ctx: Context) -> bool:
    if ctx.eval is None or len(ctx.eval) < 2:
        return False
    return level(ctx.eval.values, at_end=True, k=2) > ctx.eval.values[0]
