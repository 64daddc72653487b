"""Pruning efficiency: one Darcy sweep run several ways, side by side, over several seeds.

For each sampler seed the same sweep (RandomSampler, so the same configurations in the
same order in every mode) runs with (a) no pruning, (b) Optuna's median pruner, (c)
median + stability pruning (`prune_on: [diverged, exploding_gradients]`), (d) fnosweep's
curve pruner with its defaults + the same stability rules, (e) the shipped default: the
curve pruner + `prune_on: [diverged]`, (f) successive halving + the rules (`_common.PRUNERS`;
`--modes` picks). Each trial is
a real neuralop FNO training (`fnosweep.trial.run_trial`) driven by `run_sweep` with the
inline backend. Reported per run: epochs recorded by the driver, epochs computed by the
trials (a pruned inline trial finishes the epoch it is in), wall time, and the best eval
L2 among COMPLETE trials. Goals: (c) runs <= 40 % of (a)'s epochs (issue 10), (d) and (e)
<= 27 % (issue 18), each with a best eval L2 within 2 % of (a)'s.

    .venv/bin/python benchmarks/sweep_efficiency.py                # 3 seeds x 12 trials x 24 epochs
    .venv/bin/python benchmarks/sweep_efficiency.py --quick        # seconds: a smoke test
    .venv/bin/python benchmarks/sweep_efficiency.py --replay-only --workdir DIR   # the grid again, no training
    .venv/bin/python benchmarks/sweep_efficiency.py --median 2 0 --rules diverged exploding_gradients plateau
    .venv/bin/python benchmarks/sweep_efficiency.py --sampler tpe --modes none median+stability curve+diverged
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _common
from _common import PRUNERS, apply_quick, darcy_doc, header, spread, sweep_parser

MODES = tuple(PRUNERS)
REPLAYED_RULES = {
    "": [],
    " + stability": ["diverged", "exploding_gradients"],
    # divergence only: on the 60-epoch sweep the exploding_gradients rule stops trials that
    # recover as the cosine lr anneals (BENCHMARKS §1b)
    " + diverged": ["diverged"],
    # a trial whose loss and eval do not move (lr far too small) is hopeless before the
    # median pruner has its startup trials
    " + stability + plateau": ["diverged", "exploding_gradients", "plateau"],
}
"""The fnosweep rules (`stability.prune_on`) replayed with each pruner."""
GOAL_EPOCHS = 27.0
"""Issue 18's goal: at most this % of the unpruned epochs (ASHA's figure in §2), best within 2 %."""
SHIPPED = "curve"
"""The `pruning_replay.CURVES` setting fnosweep ships (sweeps/lr_clip.yaml, docs/pruning.md)."""
SHIPPED_RULES = " + diverged"
"""The `REPLAYED_RULES` it ships with (`prune_on: [diverged]`)."""


@dataclass(frozen=True)
class Run:
    seed: int
    mode: str
    complete: int
    pruned: int
    failed: int
    epochs: int  # recorded by the driver
    computed: int  # yielded by the trials, including an epoch finished after its prune
    wall_s: float
    best: float | None
    best_trial: int | None
    params: tuple[tuple[tuple[str, Any], ...], ...]  # per trial number, to check modes saw the same configs
    reasons: dict[int, str]  # why each pruned trial was pruned, by trial number


class CountingTrial:
    """`run_trial` that counts the epochs it computed (the driver only sees what it kept)."""

    def __init__(self) -> None:
        self.epochs = 0
        self._lock = threading.Lock()

    def __call__(self, config: Any) -> Iterator[Any]:
        from fnosweep.history import EpochRecord
        from fnosweep.trial import run_trial

        for item in run_trial(config):
            if isinstance(item, EpochRecord):
                with self._lock:
                    self.epochs += 1
            yield item


def run_one(workdir: Path, seed: int, mode: str, sizes: dict[str, Any], prefix: str = "eff") -> Run:
    from fnosweep.executor import InlineExecutor
    from fnosweep.spec import parse_spec
    from fnosweep.sweep.driver import run_sweep

    name = f"{prefix}_s{seed}_{mode.replace('+', '_')}"
    spec = parse_spec(darcy_doc(workdir, name=name, seed=seed, mode=mode, **sizes), source=f"{name}.yaml")
    trial = CountingTrial()
    started = time.perf_counter()
    result = run_sweep(spec, executor=InlineExecutor(trial))
    wall = time.perf_counter() - started
    complete = [t for t in result.trials if t.state == "COMPLETE" and t.value is not None]
    best = min(complete, key=lambda t: t.value) if complete else None  # type: ignore[arg-type, return-value]
    count = {s: sum(1 for t in result.trials if t.state == s) for s in ("COMPLETE", "PRUNED", "FAIL")}
    return Run(
        seed, mode, count["COMPLETE"], count["PRUNED"], count["FAIL"],
        sum(t.epochs for t in result.trials), trial.epochs, wall,
        best.value if best else None, best.number if best else None,
        tuple(tuple(sorted(t.params.items())) for t in sorted(result.trials, key=lambda t: t.number)),
        {t.number: t.reason or "" for t in result.trials if t.state == "PRUNED"},
    )  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = sweep_parser(__doc__)
    p.add_argument(
        "--max-concurrent",
        type=int,
        default=1,
        help="trials at once (1: the median pruner sees the same finished trials in every run)",
    )
    p.add_argument("--workdir", type=Path, default=None, help="where data and studies go (a temp dir)")
    p.add_argument("--quick", action="store_true", help="1 seed, 3 trials x 2 epochs, 16 samples")
    p.add_argument(
        "--unpruned-only",
        action="store_true",
        help="run only the unpruned sweeps, then replay the grid over them (new seeds to check a setting)",
    )
    p.add_argument(
        "--replay-only",
        action="store_true",
        help="train nothing: replay the pruner grid over the unpruned studies a run left in --workdir",
    )
    p.add_argument("--sampler", choices=["random", "tpe"], default="random",
                   help="tpe: what is pruned changes what is sampled next (no replay then)")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), metavar="MODE",
                   help=f"which modes run (none always does): {', '.join(MODES)}")
    p.add_argument("--median", type=int, nargs=2, default=[3, 2], metavar=("STARTUP", "WARMUP"),
                   help="n_startup_trials and n_warmup_steps of the median pruner of both pruned modes")
    from fnosweep.diagnose import VERDICTS

    p.add_argument("--rules", nargs="+", default=["diverged", "exploding_gradients"], choices=VERDICTS,
                   metavar="VERDICT", help="stability.prune_on of the median+stability mode")  # fmt: skip
    a = apply_quick(p.parse_args(), trials=3)
    for mode in ("median", "median+stability"):
        PRUNERS[mode]["pruner"].update(n_startup_trials=a.median[0], n_warmup_steps=a.median[1])
    PRUNERS["median+stability"]["prune_on"] = list(a.rules)
    if a.replay_only and a.workdir is None:
        p.error("--replay-only needs the --workdir of an earlier run")
    a.modes = ["none", *(m for m in MODES if m in a.modes and m != "none")]
    return a


def main() -> None:
    a = parse_args()
    if a.replay_only:
        header("sweep efficiency: the pruner grid replayed over an earlier run's unpruned studies")
        print(f"# from {a.workdir}, seeds {a.seeds}")
        replay_grid({seed: unpruned_histories(a.workdir, seed) for seed in a.seeds}, a.seeds)
        return
    header("sweep efficiency: no pruning vs median vs median + stability vs curve + stability (same configurations)")
    sizes = {"n_trials": a.trials, "epochs": a.epochs, "n_train": a.n_train, "n_test": a.n_test,
             "max_concurrent": a.max_concurrent, "sampler": a.sampler}  # fmt: skip
    print(f"# sweep: Darcy {_common.RESOLUTION}x{_common.RESOLUTION}, n_train {a.n_train}, n_test {a.n_test}, "
          f"{a.trials} trials x {a.epochs} epochs, {a.sampler} sampler, inline backend, "
          f"max_concurrent {a.max_concurrent}, seeds {a.seeds}")  # fmt: skip
    print(f"# median pruner {a.median[0]}/{a.median[1]} (n_startup_trials/n_warmup_steps); "
          f"median+stability prunes on {', '.join(a.rules)}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="fnosweep-eff-") as tmp:
        workdir = a.workdir or Path(tmp)
        from fnosweep.data import ensure_dataset
        from fnosweep.spec import parse_spec

        # Generate the data once, outside every timed run.
        ensure_dataset(parse_spec(darcy_doc(workdir, name="data", seed=0, **sizes)).data)
        # A one-trial, one-epoch warm-up pays torch's and neuralop's first-call costs untimed.
        run_one(workdir, 0, "none", {**sizes, "n_trials": 1, "epochs": 1}, prefix="warmup")
        runs: list[Run] = []
        print(f"\n{'seed':>4} {'mode':<17} {'C/P/F':>8} {'epochs':>6} {'computed':>8} {'wall s':>7} "
              f"{'best L2':>8} {'trial':>5} {'epochs %':>8} {'wall %':>6} {'best Δ%':>7}")  # fmt: skip
        for i, seed in enumerate(a.seeds):
            # Rotate the mode order per seed so a drift in machine load does not favour one mode.
            modes = ["none"] if a.unpruned_only else a.modes
            order = modes[i % len(modes) :] + modes[: i % len(modes)]
            by_mode = {m: run_one(workdir, seed, m, sizes) for m in order}
            base = by_mode["none"]
            for mode in modes:
                r = by_mode[mode]
                runs.append(r)
                if r.params != base.params and a.sampler == "random":
                    print(f"# WARNING: seed {seed} {mode} sampled other configurations than 'none'")
                print(f"{seed:>4} {mode:<17} {f'{r.complete}/{r.pruned}/{r.failed}':>8} {r.epochs:>6} "
                      f"{r.computed:>8} {r.wall_s:>7.1f} {_fmt(r.best):>8} {_fmt(r.best_trial):>5} "
                      f"{100 * r.epochs / base.epochs:>8.1f} {100 * r.wall_s / base.wall_s:>6.1f} "
                      f"{_delta(r.best, base.best):>7}")  # fmt: skip
            for mode in modes[1:]:  # the unpruned best, when a pruner stopped it
                if base.best_trial in by_mode[mode].reasons:
                    print(f"     {mode}: pruned the unpruned best, trial {base.best_trial}: "
                          f"{by_mode[mode].reasons[base.best_trial][:160]}")  # fmt: skip
        if a.unpruned_only:
            replay_grid({seed: unpruned_histories(workdir, seed) for seed in a.seeds}, a.seeds)
            return
        summarize(runs, a.seeds, a.modes)
        if a.sampler == "random":  # with TPE a pruned run samples other configurations: no replay
            replay_section(workdir, runs, a.seeds, a.modes)


def summarize(runs: list[Run], seeds: list[int], modes: list[str]) -> None:
    print(f"\nover {len(seeds)} seed(s): mean (min-max) of each seed's ratio to 'none'")
    base = {r.seed: r for r in runs if r.mode == "none"}
    for mode in modes:
        rs = [r for r in runs if r.mode == mode]
        ep = [100 * r.epochs / base[r.seed].epochs for r in rs]
        comp = [100 * r.computed / base[r.seed].computed for r in rs]
        wall = [100 * r.wall_s / base[r.seed].wall_s for r in rs]
        deltas = [_pct(r.best, base[r.seed].best) for r in rs]
        known = [d for d in deltas if d is not None]
        missing = "" if len(known) == len(deltas) else " (some runs had no COMPLETE trial)"
        print(f"  {mode:<17} epochs {spread(ep)} %  computed {spread(comp)} %  wall {spread(wall)} %  "
              f"best L2 Δ {spread(known)} %{missing}")  # fmt: skip
    for mode, share in (("median+stability", 40.0), ("curve+stability", GOAL_EPOCHS), ("curve+diverged", GOAL_EPOCHS)):
        rs = [r for r in runs if r.mode == mode]
        ok = [r.epochs <= share / 100 * base[r.seed].epochs and _within(r.best, base[r.seed].best, 2.0) for r in rs]
        if rs:
            print(f"goal ({mode}: epochs <= {share:g} % of none, best L2 within 2 %): "
                  f"met in {sum(ok)} of {len(ok)} seeds")


def unpruned_histories(workdir: Path, seed: int) -> dict[int, Any]:
    """The 'none' run's finished trials of one seed, as histories (the replay's input; the
    trials of a run still going, or interrupted, count up to its last finished one)."""
    from fnosweep.history import History, RunInfo
    from fnosweep.store.refs import find_study

    name = f"eff_s{seed}_none"
    ref = find_study(f"sqlite:///{workdir}/studies/{name}.db", name)
    try:
        rows = ref.store.trials(name)
        runs = {r.number: r.run_info for r in rows}
        unfinished = [r.number for r in rows if r.state not in ("COMPLETE", "PRUNED", "FAIL")]
        last = min(unfinished) if unfinished else None
        return {n: History(runs.get(n) or RunInfo(), tuple(e)) for n, e in ref.store.epochs(name).items()
                if last is None or n < last}  # fmt: skip
    finally:
        ref.store.close()


def replay_section(workdir: Path, runs: list[Run], seeds: list[int], modes: list[str]) -> None:
    """The live pruned runs replayed from the unpruned histories (a check of the replay), then
    a grid of pruner settings with and without the stability rules."""
    from pruning_replay import replay

    from fnosweep.diagnose import Thresholds
    from fnosweep.space import build_pruner
    from fnosweep.spec import parse_spec

    th = Thresholds()
    live = {(r.seed, r.mode): r for r in runs}
    hist = {seed: unpruned_histories(workdir, seed) for seed in seeds}
    print("\nreplay of the live pruned runs from the unpruned histories (epochs, best L2):")
    for seed in seeds:
        for mode in modes[1:]:
            epochs = max(len(h.epochs) for h in hist[seed].values())
            spec = parse_spec(darcy_doc(workdir, name="replay", seed=seed, mode=mode, epochs=epochs))
            got = replay(hist[seed], _common.METRIC, lambda spec=spec: build_pruner(spec),  # type: ignore[misc]
                         PRUNERS[mode]["prune_on"], th)  # fmt: skip
            r = live[(seed, mode)]
            same = got.epochs == r.epochs and _fmt(got.best) == _fmt(r.best)
            print(f"  seed {seed} {mode:<17} live {r.epochs:>3} {_fmt(r.best)}  replay {got.epochs:>3} "
                  f"{_fmt(got.best)}  {'same' if same else 'DIFFERENT'}")  # fmt: skip
    replay_grid(hist, seeds)


def replay_grid(hist: dict[int, dict[int, Any]], seeds: list[int]) -> None:
    """Every pruner of the grid with each set of fnosweep rules, replayed per seed."""
    from pruning_replay import CURVES, GRID, OTHERS, crossing, curve, median, replay, rule_stops

    from fnosweep.diagnose import Thresholds
    from fnosweep.history import metric_value

    th = Thresholds()
    base = {seed: replay(hist[seed], _common.METRIC, None, [], th) for seed in seeds}  # = the unpruned run
    print("\nthe stability rules alone on each unpruned trial: the epoch they would stop it at, and how it ended "
          "unpruned (final eval L2 / the seed's best):")  # fmt: skip
    for seed in seeds:
        stops = rule_stops(hist[seed], REPLAYED_RULES[" + stability"], th)
        best = base[seed].best
        cells = [f"trial {n} epoch {e} {code} ({metric_value(hist[seed][n].epochs[-1], _common.METRIC) / best:.2f}x)"
                 for n, (e, code) in sorted(stops.items())] if best else []  # fmt: skip
        print(f"  seed {seed}: {len(stops)} of {len(hist[seed])} trials" + (": " + ", ".join(cells) if cells else ""))
    end_step = max(len(h.epochs) for seed in seeds for h in hist[seed].values()) - 1
    print(f"\nreplayed pruners (median: n_startup_trials/n_warmup_steps; curve: CurvePruner, max_resource "
          f"{end_step}), epochs % of none and best L2 Δ % per seed; goal: <= {GOAL_EPOCHS:g} % of the epochs, "
          "best within 2 %:")  # fmt: skip
    pruners = ({f"median {s}/{w}": median(s, w) for s, w in GRID} | OTHERS
               | {name: curve(end_step, args) for name, args in CURVES.items()})  # fmt: skip
    for name, pruner in pruners.items():
        for suffix, prune_on in REPLAYED_RULES.items():
            if name.startswith("curve") and suffix == " + stability + plateau":
                continue  # the curve pruner itself stops what plateau would
            if suffix == " + diverged" and not (name == "median 3/2" or name in OTHERS or name.startswith("curve")):
                continue
            cells, met = [], 0
            for seed in seeds:
                got = replay(hist[seed], _common.METRIC, pruner, prune_on, th)
                share, delta = 100 * got.epochs / base[seed].epochs, _pct(got.best, base[seed].best)
                met += share <= GOAL_EPOCHS and delta is not None and delta <= 2
                cells.append(f"{share:5.1f}% {_delta(got.best, base[seed].best):>6}")
            print(f"  {name + suffix:<44} " + " | ".join(cells) + f"   goal met in {met} of {len(seeds)}")
    costs(hist, seeds, SHIPPED, curve(end_step, CURVES[SHIPPED]), base)
    lower_bounds(hist, seeds, end_step)
    crossing(_common.METRIC, end_step + 1)


def costs(hist: dict[int, dict[int, Any]], seeds: list[int], label: str, pruner: Any, base: dict[int, Any]) -> None:
    """Where one setting spends its epochs: each trial's epochs and how it ended unpruned."""
    from pruning_replay import replay

    from fnosweep.diagnose import Thresholds
    from fnosweep.history import metric_value

    prune_on = REPLAYED_RULES[SHIPPED_RULES]
    print(f"\nwhere '{label}{SHIPPED_RULES}' spends its epochs: trial:epochs run (final eval L2 unpruned / the seed's "
          "best; * ran to the end):")  # fmt: skip
    for seed in seeds:
        got = replay(hist[seed], _common.METRIC, pruner, prune_on, Thresholds())
        best = base[seed].best
        cells = []
        for n, e in sorted(got.ran.items()):
            final = metric_value(hist[seed][n].epochs[-1], _common.METRIC)
            ratio = f"{final / best:.2f}x" if final is not None and best else "-"
            cells.append(f"{n}:{e}{'' if n in got.pruned else '*'} ({ratio})")
        print(f"  seed {seed}: {got.epochs} epochs: " + ", ".join(cells))


def lower_bounds(hist: dict[int, dict[int, Any]], seeds: list[int], end_step: int) -> None:
    """What any pruner that keeps the best must spend (`pruning_replay.floors`), and why the
    shipped curve setting let the other trials finish (`pruning_replay.why_kept`)."""
    from pruning_replay import floors, replay, why_kept

    from fnosweep.diagnose import Thresholds
    from fnosweep.pruners._decide import CurveSettings

    settings = CurveSettings()
    warm = settings.n_warmup_steps + 1
    at = sorted({settings.n_warmup_steps, end_step // 4, end_step // 2, 3 * end_step // 4})
    print(f"\nlower bounds: the trials that end better than every earlier one (records) and the epochs, % of none, "
          f"if (a) each record runs its budget and every other trial stops at epoch {warm} (the curve "
          f"pruner's earliest), (b) only the first trial and the best do; then, for '{SHIPPED}{SHIPPED_RULES}', "
          "each trial it let finish that was no record: its optimistic end vs the best, by epoch:")  # fmt: skip
    for seed in seeds:
        records, a, b = floors(hist[seed], _common.METRIC, warm)
        got = replay(hist[seed], _common.METRIC, curve_pruner(end_step), REPLAYED_RULES[SHIPPED_RULES], Thresholds())
        kept = why_kept(hist[seed], _common.METRIC, got, end_step, settings, at)
        cells = [f"{n} (" + (", ".join(f"{s}: {o:.3g} < {b_:.3g}" for s, o, b_ in rows) or "no fit") + ")"
                 for n, rows in kept.items()]  # fmt: skip
        print(f"  seed {seed}: records {', '.join(map(str, records))}; floor (a) {a:.1f} %, (b) {b:.1f} %; "
              f"kept: {'; '.join(cells) or 'none'}")  # fmt: skip


def curve_pruner(end_step: int) -> Any:
    from pruning_replay import CURVES, curve

    return curve(end_step, CURVES[SHIPPED])


def _pct(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else 100 * (value - base) / base


def _within(value: float | None, base: float | None, pct: float) -> bool:
    d = _pct(value, base)
    return d is not None and d <= pct


def _delta(value: float | None, base: float | None) -> str:
    d = _pct(value, base)
    return "-" if d is None else f"{d:+.1f}"


def _fmt(x: float | int | None) -> str:
    return "-" if x is None else (f"{x:.4f}" if isinstance(x, float) else str(x))


if __name__ == "__main__":
    main()
