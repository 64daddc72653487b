"""Does a written diagnosis contradict its own numbers? A checker over (history, diagnosis, text).

Each check reads a kind of claim back out of the text and tests it against the history:
direction words against a trend test, frequency words against the share, quoted values
against the record at the cited epoch, factors >= 1, warnings referred to only when present,
finite budgets, checkpoints at trained finite epochs, one direction per knob, the domain
facts of docs/diagnosis.md (a rising loss is never a plateau nor cured by a higher lr; NaN is
a value; skipped non-finite steps are not divergence; heavy clipping under Adam is not an lr
problem). The property test and benchmarks/diagnosis_properties.py run it over generated
histories; `audit` returns the contradictions found, an empty list when there are none.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator

from fnosweep.diagnose import claims, fmt
from fnosweep.diagnose.findings import Diagnosis
from fnosweep.diagnose.series import guarded_epochs, loss_series, nonfinite_epochs
from fnosweep.history import EpochRecord, History
from fnosweep.spec.thresholds import Thresholds

_NUM = r"-?[\d,]*\.?\d+(?:e-?\d+)?|NaN|Inf|-Inf"
_MK = re.compile(r"(it rises|it falls|no real trend|rising|falling) \(Mann–Kendall z (-?[\d.]+)")
_SHARE = re.compile(r"clipped (on no step|rarely|on some steps|on most steps|on every step) "
                    r"\((\d+(?:\.\d+)?) %\) in epoch (\d+)")
_CHANGE = re.compile(rf"({_NUM}) → ({_NUM}) \([^)]*\) over epochs? (\d+)(?:–(\d+))?")
_AT = re.compile(rf"(?:train loss|eval [\w.]+|[\w.]+_l2|[\w.]+_h1) ({_NUM}) at epoch (\d+)")
_FACTOR = re.compile(r"([\d.,]+)× (fewer|smaller|larger|more|above|below)")
_CHECKPOINT = re.compile(r"epoch-(\d+) checkpoint")
_CLIPPED_SHARE = re.compile(r"(\d+(?:\.\d+)?) % of steps clipped(?: at [\d.e-]+)? in epoch (\d+)")
_CLIP_AT = re.compile(r"clipped at (\d+(?:\.\d+)?(?:e-?\d+)?)")


def audit(history: History, d: Diagnosis, text: str, th: Thresholds | None = None) -> list[str]:
    """Every contradiction between `text` (and `d`) and the numbers of `history`."""
    th = th or Thresholds()
    return list(_checks(history, d, text, th))


def _checks(h: History, d: Diagnosis, text: str, th: Thresholds) -> Iterator[str]:
    flat = " ".join(text.split())  # wrapped lines back into sentences
    yield from _directions(flat, th)
    yield from _shares(h, flat)
    yield from _quotes(h, flat)
    yield from _factors(flat)
    yield from _budgets(flat)
    yield from _checkpoints(h, flat)
    yield from _knobs(d, _section(text, "What to change"))
    yield from _domain(h, d, flat, th)
    try:
        json.dumps(d.to_json(), allow_nan=False)
    except ValueError as e:
        yield f"--format json is not strict JSON: {e}"


def _directions(text: str, th: Thresholds) -> Iterator[str]:
    for word, z_text in _MK.findall(text):
        z = float(z_text.rstrip("."))
        ok = {"it rises": z >= th.trend_z, "rising": z >= th.trend_z,
              "it falls": z <= -th.trend_z, "falling": z <= -th.trend_z,
              "no real trend": abs(z) < th.trend_z}[word]
        if not ok:
            yield f"direction: '{word}' with Mann–Kendall z {z}"


def _shares(h: History, text: str) -> Iterator[str]:
    for pct, epoch in _CLIPPED_SHARE.findall(text):
        rec = _record(h, int(epoch))
        v = rec.clip_fraction if rec else None
        if v is None or fmt.pct(v, signed=False) != f"{pct} %":
            yield f"frequency: {pct} % of steps clipped quoted for epoch {epoch}, recorded {v}"
    for word, pct, epoch in _SHARE.findall(text):
        rec = _record(h, int(epoch))
        v = rec.clip_fraction if rec else None
        if v is None:
            yield f"frequency: clip share quoted for epoch {epoch}, which has none"
            continue
        if fmt.pct(v, signed=False) != f"{pct} %":
            yield f"frequency: {pct} % quoted, epoch {epoch} records {v}"
        if claims.frequency(v) != word:
            yield f"frequency: '{word}' for a share of {v}"


def _quotes(h: History, text: str) -> Iterator[str]:
    for a, b, e0, e1 in _CHANGE.findall(text):
        first, last = int(e0), int(e1 or e0)
        if a not in _values_at(h, first):
            yield f"quote: {a} is not a value recorded at epoch {first}"
        if b not in _values_at(h, last):
            yield f"quote: {b} is not a value recorded at epoch {last}"
    for v, e in _AT.findall(text):
        if v not in _values_at(h, int(e)):
            yield f"quote: {v} at epoch {e} is not a value recorded there"


def _factors(text: str) -> Iterator[str]:
    for n, word in _FACTOR.findall(text):
        if float(n.replace(",", "")) < 1:
            yield f"comparison: '{n}× {word}' (a factor below 1)"


def _budgets(text: str) -> Iterator[str]:
    for bad in ("inf epochs", "nan epochs", "Infinity", "about inf", "epoch inf"):
        if bad in text:
            yield f"budget: '{bad}' in the text"


def _checkpoints(h: History, text: str) -> Iterator[str]:
    first = h.epochs[0].epoch if h.epochs else 0
    for e in _CHECKPOINT.findall(text):
        rec = _record(h, int(e))
        if int(e) == first or rec is None or (rec.train_loss is not None
                                              and not _finite(rec.train_loss)):
            yield f"checkpoint: epoch-{e} is untrained or not finite"
    if "last finite checkpoint" in text:
        finite = [r for r in h.epochs[1:] if _finite(r.train_loss)]
        if not finite:
            yield "checkpoint: 'last finite checkpoint' with no finite trained epoch"


def _knobs(d: Diagnosis, change: str) -> Iterator[str]:
    seen: dict[str, str] = {}
    for st in d.actions:
        if st.knob in seen:
            yield f"actions: two actions on {st.knob}"
        seen[st.knob] = st.direction
    raise_lr = re.search(r"\braise (the )?lr\b", change)
    lower_lr = re.search(r"(?<!if it keeps climbing, )\b(lower (the )?lr|decay the lr)\b", change)
    if raise_lr and lower_lr and "keep lr" not in change:
        yield "actions: 'raise the lr' and 'lower the lr' in one report"


def _domain(h: History, d: Diagnosis, text: str, th: Thresholds) -> Iterator[str]:
    thr = h.run.clip_threshold
    if thr is None and ("clipping still holds it" in text or "the clip caps" in text):
        yield "clipping: a clip said to hold a run with no clip threshold"
    for quoted in _CLIP_AT.findall(text):
        if thr is None or quoted != fmt.clip(thr):
            yield f"clipping: 'clipped at {quoted}' but the threshold is {thr}"
    problem = str(h.run.extra.get("problem") or "").lower().replace("_", "-")
    if "FNO paper" in text:
        if "Navier–Stokes" in text and problem not in ("navier-stokes", "ns"):
            yield f"size: a Navier–Stokes reference quoted for a {problem or 'unnamed'} problem"
        if "on Darcy" in text and problem != "darcy":
            yield f"size: a Darcy reference quoted for a {problem or 'unnamed'} problem"
    if "watch the warning" in text and not any(f.severity == "warning" for f in d.findings):
        yield "warnings: a warning referred to that the diagnosis does not have"
    loss = loss_series(h)
    if loss is not None and len(loss) >= 4 and claims.direction(loss.points, th.trend_z) == "rises":
        best = min(loss.values[:-1])
        if best > 0 and loss.values[-1] >= (1 + th.diverge_loss_rise) * best:
            if d.verdict == "plateau":
                yield "rising loss: called a plateau"
            if re.search(r"\braise (the )?lr\b", text):
                yield "rising loss: 'raise the lr' advised"
    recorded = [v for e in h.epochs for v in (e.train_loss, e.train_err) if v is not None]
    if recorded and loss is None and ("no training loss" in text or "no train_loss" in text):
        yield "NaN: non-finite training losses reported as a missing field"
    if guarded_epochs(h) and not nonfinite_epochs(h) and d.verdict == "diverged" and \
            (loss is None or claims.direction(loss.points, th.trend_z) != "rises"):
        blow = d.by_code("diverged")
        if blow is not None and "skipped" in blow.evidence:
            yield "NaN: steps the guard skipped called divergence"
    heavy = d.by_code("heavy_clipping")
    if heavy is not None and any(st.knob == "lr" for st in heavy.steps):
        yield "clipping: heavy clipping answered with an lr change"
    adaptive = any(k in (h.run.optimizer or "").lower() for k in ("adam", "rmsprop"))
    if adaptive and "lr × clip / norm" in text:
        yield "clipping: SGD's step-length reading applied to an adaptive optimizer"


def _section(text: str, heading: str) -> str:
    start = text.find(f"## {heading}")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 3)
    return " ".join(text[start: end if end >= 0 else None].split())


def _record(h: History, epoch: int) -> EpochRecord | None:
    return next((r for r in h.epochs if r.epoch == epoch), None)


def _values_at(h: History, epoch: int) -> set[str]:
    """Every recorded number of one epoch, as the text writes numbers."""
    r = _record(h, epoch)
    if r is None:
        return set()
    values = [r.train_loss, r.train_err, r.lr, r.clip_fraction, r.update_ratio,
              *r.eval.values(), *r.grad_norm.values()]
    out = set()
    for v in values:
        if v is None:
            continue
        out |= {fmt.num(v), fmt.sci(v)}
    return out


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)
