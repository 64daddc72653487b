"""The attribution in words: where the instability sits, what each other knob does once
the cause is kept to its stable region, and what matters for the objective. Every count
quoted is one of the attribution's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fnosweep.conclude._attribution import SHUFFLES, Attribution, Conditioned, Rule
from fnosweep.conclude._importance import Importance
from fnosweep.conclude._regions import Binning


@dataclass(frozen=True)
class Phrase:
    unstable: str
    """Where the rule predicts instability: ``lr ≥ 1e-1``."""
    stable: str
    """Its stable region: ``lr < 1e-1``."""
    n_in: int
    bad_in: int
    n_out: int
    bad_out: int

    @property
    def once(self) -> str:
        """``once lr < 1e-1``; for a pair's region, ``outside lr 1e-1–1e0 with clip_threshold null``."""
        return self.stable if self.stable.startswith("outside ") else f"once {self.stable}"

    @property
    def where(self) -> str:
        return self.stable if self.stable.startswith("outside ") else f"where {self.stable}"


def short(knob: str) -> str:
    """``training.scheduler.type`` -> ``scheduler.type``; ``training.lr`` -> ``lr``."""
    parts = knob.split(".")
    return ".".join(parts[-2:]) if parts[-1] in ("type", "step_size", "gamma", "patience", "T_max") else parts[-1]


def phrase(rule: Rule, bins: Mapping[str, Binning]) -> Phrase:
    bad_in = sum(c.bad for c in rule.unstable)
    n_in = sum(c.n for c in rule.unstable)
    n_all, bad_all = sum(c.n for c in rule.cells), sum(c.bad for c in rule.cells)
    counts = (n_in, bad_in, n_all - n_in, bad_all - bad_in)
    if len(rule.knobs) == 1:
        return Phrase(*_single(rule, bins[rule.knobs[0]]), *counts)
    cells = " or ".join(" with ".join(f"{short(k)} {lab}" for k, lab in zip(rule.knobs, c.labels, strict=True))
                        for c in rule.unstable)
    return Phrase(cells, f"outside {cells}", *counts)


def _single(rule: Rule, b: Binning) -> tuple[str, str]:
    name = short(rule.knobs[0])
    index = {b.label(i): i for i in range(b.size)}
    occupied = sorted(index[c.labels[0]] for c in rule.cells if c.labels[0] in index)
    bad = sorted(index[c.labels[0]] for c in rule.unstable if c.labels[0] in index)
    whole = len(bad) == len(rule.unstable) and 0 < len(bad) < len(occupied)
    if whole and b.ordered() and bad == occupied[-len(bad):]:
        return f"{name} {b.at_least(bad[0])}", f"{name} {b.below(bad[0])}"
    if whole and b.ordered() and bad == occupied[: len(bad)]:
        first_ok = occupied[len(bad)]
        return f"{name} {b.below(first_ok)}", f"{name} {b.at_least(first_ok)}"
    labels = [c.labels[0] for c in rule.unstable]
    if len(labels) == 1:
        return f"{name} = {labels[0]}", f"{name} ≠ {labels[0]}"
    return f"{name} in {', '.join(labels)}", f"{name} not in {', '.join(labels)}"


def cause_lines(a: Attribution, bins: Mapping[str, Binning]) -> list[str]:
    """The paragraph and bullets of "What causes the instability"."""
    if a.status == "no_instability":
        return [f"No trial was unstable ({a.n} finished: none diverged, had exploding gradients or "
                "failed): stability gives no reason to narrow any knob."]
    if a.status == "cannot_tell":
        text = (f"{a.bad} of {a.n} finished trials {'was' if a.bad == 1 else 'were'} unstable. Too few "
                "trials to tell which knob causes it: no knob or pair separates them from the stable "
                "ones better than chance")
        if a.best_guess is not None and a.best_guess.unstable:
            p = phrase(a.best_guess, bins)
            text += (f" (the closest, {p.unstable}: {p.bad_in} of {p.n_in} unstable there, "
                     f"{p.bad_out} of {p.n_out} elsewhere; p = {a.best_guess.p_value:.2f} "
                     "against shuffled labels)")
        return [text + ". Every knob is left as searched."]
    assert a.cause is not None
    p = phrase(a.cause, bins)
    names = " × ".join(a.cause.knobs)
    lines = [f"The instability follows {names}: {p.bad_in} of {p.n_in} trials with {p.unstable} "
             f"were unstable, {p.bad_out} of {p.n_out} elsewhere ({a.n} finished trials; p = "
             f"{a.cause.p_value:.3f} against {SHUFFLES} shuffles of the unstable labels)."]
    if len(a.cause.knobs) == 2 and a.alone is not None:
        lines.append(f"Neither knob alone explains it: the better one, {a.alone.knobs[0]}, leaves "
                     f"{a.alone.errors} of {a.n} trials on the wrong side.")
    lines.append(f"Every other knob, judged only on the {len(a.region)} trials {p.where}:")
    lines += [f"- {o.knob}: {other_text(o, p, bins)}" for o in a.others]
    return lines


def other_text(o: Conditioned, cause: Phrase, bins: Mapping[str, Binning]) -> str:
    if o.n == 0:
        return f"no trial had it {cause.where}."
    if o.effect is not None:
        q = phrase(o.effect, bins)
        return (f"unstable at {q.unstable} even {cause.where}: {q.bad_in} of {q.n_in} trials there, "
                f"{q.bad_out} of {q.n_out} elsewhere (p = {o.effect.p_value:.3f}).")
    if o.bad == 0:
        return f"no effect {cause.once} ({o.n} trials there, none unstable)."
    return (f"no clear effect {cause.once}: {o.bad} of {o.n} trials there unstable, spread over its "
            "values (too few to tie to it).")


def importance_lines(imp: Importance | None, metric: str) -> list[str]:
    if imp is None:
        return []
    if not imp.values:
        return [f"What matters for {metric}: not computed ({imp.note})."]
    ranked = ", ".join(f"{k} {v:.2f}" for k, v in imp.values.items())
    return [f"What matters for {metric} among the {imp.n} stable complete trials (PED-ANOVA importance, "
            f"best {imp.quantile:.0%} against all): {ranked}."]
