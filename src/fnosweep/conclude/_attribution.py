"""Which knob, or pair of knobs, separates the unstable trials from the stable ones; and
what every other knob does once that one is kept to its stable region.

Read as a decision tree of depth two, on the bins of `_regions` (the report's bins too):

1. Every searched knob, and every pair of them, splits the finished trials into cells (its
   bins, or the cross of two knobs' bins). A cell *predicts* unstable when it holds at least
   `min_trials` trials and most of them were unstable. The rule's errors are the trials it
   predicts wrongly. The best single knob wins unless a pair halves its errors (and removes
   at least two): lr × clip is the pair that matters when only unclipped high lrs diverge.
2. Is that better than chance? The same search runs on 199 shuffles of the unstable labels
   (a fixed seed: the same sweep gives the same text). Unless the rule beats 95 % of them,
   the conclusion says it cannot tell, and names no knob.
3. The *stable region* is the cells the rule predicts stable. Every other knob is judged
   there only, with the same test: a knob whose bins look unstable on their own, because
   the high lrs happened to fall in them, shows no effect once lr is in its stable region.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from fnosweep.conclude._regions import Binning

SHUFFLES = 199
ALPHA = 0.05


@dataclass(frozen=True)
class Case:
    """One finished trial as the attribution takes it."""

    params: Mapping[str, Any]
    bad: bool
    """Unstable or failed (`_regions.BAD`)."""


@dataclass(frozen=True)
class Cell:
    labels: tuple[str, ...]
    """One bin label per knob (``unset`` where the trial did not have the knob)."""
    n: int
    bad: int
    predicted_bad: bool


@dataclass(frozen=True)
class Rule:
    """A knob or pair and the cells it predicts unstable."""

    knobs: tuple[str, ...]
    cells: tuple[Cell, ...]
    errors: int
    p_value: float
    edge: tuple[float, float] | None = None
    """One ordered knob unstable at one end of its range: (the stable trial nearest the
    unstable ones, the unstable trial nearest the stable ones), finer than the bins."""

    @property
    def unstable(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.predicted_bad)

    def to_json(self) -> dict[str, Any]:
        return {"knobs": list(self.knobs), "errors": self.errors, "p_value": self.p_value,
                "edge": list(self.edge) if self.edge else None,
                "unstable_cells": [{"bins": list(c.labels), "n": c.n, "unstable": c.bad}
                                   for c in self.unstable]}


@dataclass(frozen=True)
class Conditioned:
    """Another knob, judged inside the stable region of the cause."""

    knob: str
    n: int
    """Trials inside the stable region that had this knob."""
    bad: int
    """Of those, unstable."""
    effect: Rule | None
    """The knob's own rule inside the region, when it beats chance there."""


@dataclass(frozen=True)
class Attribution:
    status: str
    """``no_instability``, ``cause`` (a knob or pair), or ``cannot_tell``."""
    n: int
    bad: int
    cause: Rule | None = None
    best_guess: Rule | None = None
    """With ``cannot_tell``: the rule that came closest, and its p-value."""
    region: tuple[int, ...] = ()
    """Indices (into the cases) of the trials in the cause's stable region."""
    others: tuple[Conditioned, ...] = ()
    alone: Rule | None = None
    """With a pair as the cause: the best single knob's rule, which the pair beat."""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "n": self.n, "unstable": self.bad,
            "cause": self.cause.to_json() if self.cause else None,
            "best_guess": self.best_guess.to_json() if self.best_guess else None,
            "stable_region_trials": len(self.region),
            "others": [{"knob": o.knob, "n": o.n, "unstable": o.bad,
                        "effect": o.effect.to_json() if o.effect else None} for o in self.others],
        }


def attribute(cases: Sequence[Case], bins: Mapping[str, Binning], *, min_trials: int = 2,
              seed: int = 0) -> Attribution:
    """The cause of the instability among `cases`, judged on the knobs of `bins`."""
    bad = np.array([c.bad for c in cases], dtype=float)
    n, k = len(cases), int(bad.sum())
    if k == 0:
        return Attribution("no_instability", n, 0, others=tuple(
            Conditioned(knob, _having(cases, knob), 0, None) for knob in bins))
    knobs = [kn for kn in bins if bins[kn].size > 1]
    shuffled = _shuffles(bad, seed)
    idx = {kn: _indices(cases, kn, bins[kn]) for kn in knobs}  # once per knob: pairs reuse them
    singles = [_partition((kn,), bins, idx) for kn in knobs]
    pairs = [_partition(pair, bins, idx) for pair in itertools.combinations(knobs, 2)]
    best1 = _best(singles, bad, min_trials)
    best2 = _best(pairs, bad, min_trials)
    use_pair = (best2 is not None and best1 is not None
                and best2[1] <= best1[1] - max(2, math.ceil(best1[1] / 2)))
    chosen, family = (best2, singles + pairs) if use_pair else (best1, singles)
    if chosen is None:
        return Attribution("cannot_tell", n, k)
    part, errors = chosen
    null = _min_errors(family, shuffled, min_trials)
    p = (1 + int((null <= errors).sum())) / (len(null) + 1)
    rule = _with_edge(_rule(part, bad, errors, p, min_trials), cases, bins)
    if p > ALPHA or not rule.unstable:
        return Attribution("cannot_tell", n, k, best_guess=rule)
    predicted = _predicted(part, bad, min_trials)
    region = tuple(int(i) for i in np.flatnonzero(~predicted[part.cell]))
    others = tuple(_conditioned(cases, region, kn, bins, min_trials, seed)
                   for kn in bins if kn not in rule.knobs)
    alone = _rule(best1[0], bad, best1[1], math.nan, min_trials) if use_pair and best1 else None
    return Attribution("cause", n, k, cause=rule, region=region, others=others, alone=alone)


@dataclass(frozen=True)
class _Partition:
    knobs: tuple[str, ...]
    cell: np.ndarray
    """The cell of each case."""
    labels: tuple[tuple[str, ...], ...]
    """The bin labels of each cell."""


def _indices(cases: Sequence[Case], knob: str, b: Binning) -> np.ndarray:
    """Each case's bin of `knob`; ``b.size`` (one past the last bin) where the trial lacks it."""
    return np.array([b.index(c.params[knob]) if _has(c, knob) else b.size for c in cases], dtype=int)


def _partition(knobs: tuple[str, ...], bins: Mapping[str, Binning], idx: Mapping[str, np.ndarray]) -> _Partition:
    sizes = [bins[kn].size + 1 for kn in knobs]  # the last index of each knob: the trial lacks it
    cell = np.zeros(len(idx[knobs[0]]), dtype=int)
    for kn, size in zip(knobs, sizes, strict=True):
        cell = cell * size + idx[kn]
    labels = tuple(tuple(bins[kn].label(i) if i < size - 1 else "unset"
                         for kn, size, i in zip(knobs, sizes, _digits(flat, sizes), strict=True))
                   for flat in range(math.prod(sizes)))
    return _Partition(knobs, cell, labels)


def _digits(flat: int, sizes: list[int]) -> list[int]:
    out = []
    for size in reversed(sizes):
        flat, d = divmod(flat, size)
        out.append(d)
    return out[::-1]


def _has(c: Case, knob: str) -> bool:
    return knob in c.params


def _having(cases: Sequence[Case], knob: str) -> int:
    return sum(_has(c, knob) for c in cases)


def _counts(part: _Partition, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = len(part.labels)
    return np.bincount(part.cell, minlength=size), np.bincount(part.cell, weights=bad, minlength=size)


def _predicted(part: _Partition, bad: np.ndarray, min_trials: int) -> np.ndarray:
    n, b = _counts(part, bad)
    return (n >= min_trials) & (2 * b > n)


def _errors(part: _Partition, bad: np.ndarray, min_trials: int) -> int:
    n, b = _counts(part, bad)
    return int(np.where(_predicted(part, bad, min_trials), n - b, b).sum())


def _best(parts: list[_Partition], bad: np.ndarray, min_trials: int) -> tuple[_Partition, int] | None:
    """Fewest errors; on a tie, fewer occupied cells (the simpler rule), then fewer trials
    without the knob (``scheduler.step_size`` only exists where ``scheduler.type`` is step:
    the parent is the cause, not its shadow), then the first knob."""
    scored = [(_errors(p, bad, min_trials), len(set(p.cell.tolist())), _unset(p), i) for i, p in enumerate(parts)]
    if not scored:
        return None
    errors, _, _, i = min(scored)
    return parts[i], errors


def _unset(p: _Partition) -> int:
    unset = [i for i, labels in enumerate(p.labels) if "unset" in labels]
    return int(np.isin(p.cell, unset).sum())


def _shuffles(bad: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.permuted(np.tile(bad, (SHUFFLES, 1)), axis=1)


def _min_errors(parts: list[_Partition], labels: np.ndarray, min_trials: int) -> np.ndarray:
    """Per row of `labels` (one shuffle each), the fewest errors any of `parts` makes."""
    best = np.full(labels.shape[0], np.inf)
    for p in parts:
        onehot = np.zeros((len(p.cell), len(p.labels)))
        onehot[np.arange(len(p.cell)), p.cell] = 1.0
        n = onehot.sum(axis=0)
        b = labels @ onehot
        predicted = (n >= min_trials) & (2 * b > n)
        best = np.minimum(best, np.where(predicted, n - b, b).sum(axis=1))
    return best


def _rule(part: _Partition, bad: np.ndarray, errors: int, p: float, min_trials: int) -> Rule:
    n, b = _counts(part, bad)
    predicted = _predicted(part, bad, min_trials)
    cells = tuple(Cell(part.labels[i], int(n[i]), int(b[i]), bool(predicted[i]))
                  for i in range(len(part.labels)) if n[i])
    return Rule(part.knobs, cells, errors, p)


def _conditioned(cases: Sequence[Case], region: tuple[int, ...], knob: str, bins: Mapping[str, Binning],
                 min_trials: int, seed: int) -> Conditioned:
    inside = [cases[i] for i in region if _has(cases[i], knob)]
    bad = np.array([c.bad for c in inside], dtype=float)
    k = int(bad.sum())
    if k == 0 or bins[knob].size < 2:
        return Conditioned(knob, len(inside), k, None)
    part = _partition((knob,), bins, {knob: _indices(inside, knob, bins[knob])})
    errors = _errors(part, bad, min_trials)
    null = _min_errors([part], _shuffles(bad, seed), min_trials)
    p = (1 + int((null <= errors).sum())) / (len(null) + 1)
    rule = _rule(part, bad, errors, p, min_trials)
    return Conditioned(knob, len(inside), k, rule if p <= ALPHA and rule.unstable else None)


def _with_edge(rule: Rule, cases: Sequence[Case], bins: Mapping[str, Binning]) -> Rule:
    """`rule` with its `edge` when it is one numeric knob whose unstable bins end its range."""
    if len(rule.knobs) != 1 or bins[rule.knobs[0]].kind == "categorical" or not rule.unstable:
        return rule
    knob, b = rule.knobs[0], bins[rule.knobs[0]]
    flagged = {c.labels[0] for c in rule.unstable}
    idx = sorted(i for i in range(b.size) if b.label(i) in flagged)
    values = [(c.params[knob], c.bad) for c in cases if knob in c.params]
    inside = [v for v, bad in values if bad and b.label(b.index(v)) in flagged]
    if "unset" in flagged or not inside:
        return rule
    if idx == list(range(idx[0], b.size)):  # unstable at the top of the range
        below = [v for v, bad in values if not bad and v < min(inside)]
        return replace(rule, edge=(max(below), min(inside))) if below else rule
    if idx == list(range(idx[-1] + 1)):  # at the bottom
        above = [v for v, bad in values if not bad and v > max(inside)]
        return replace(rule, edge=(min(above), max(inside))) if above else rule
    return rule
