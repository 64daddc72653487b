"""`markdown`: a gpu_check run's figures as the tables BENCHMARKS.md takes."""

from __future__ import annotations

from typing import Any

PAPER_L2 = 0.0108
"""Relative L2 the FNO paper reports for Darcy at s=85 (Li et al. 2021, table 1)."""


def markdown(r: dict[str, Any], command: str) -> str:
    """The run as BENCHMARKS.md tables: environment line, checks, packing, the Darcy run."""
    env = r["environment"]
    notes: list[str] = []

    def done(name: str) -> dict[str, Any] | None:
        s = r.get(name, {"status": "skipped", "reason": "not reached"})
        if s["status"] == "done":
            return s
        notes.append(f"- {name}: **{s['status']}** — {s.get('reason') or s.get('error')}")
        return None

    lines = [
        f"### {env.get('gpu', env['device'])}, {env['date']}" + (" (dry: toy sizes on a CPU, no figure counts)"
                                                                  if r["dry"] else ""),
        "",
        f"`{command}`: driver {env.get('driver', '-')}, torch {env['torch']} (CUDA {env['cuda']}), "
        f"neuralop {env['neuralop']}, optuna {env['optuna']}, ray {env['ray']}, python {env['python']}, "
        f"{env['cpus']} CPUs; {r.get('total_s', '?')} s in all. Every figure below is from this one run.",
        "",
    ]
    if tests := done("gpu_tests"):
        code = "" if tests["exit_code"] is None else f" (exit {tests['exit_code']})"
        lines += [f"`pytest -m gpu` ({', '.join(tests['files'])}): {tests['summary']}{code}.", ""]
    if alone := done("neuralop_bf16_alone"):
        lines += ["neuralop's FNO under bf16 autocast without fnosweep's fp32 spectral convolutions: "
                  + ("runs." if alone["runs"] else f"fails (`{alone['error']}`)."), ""]

    over = {p: done(f"overhead_{p}") for p in ("fp32", "bf16")}
    thr = {p: done(f"throughput_{p}") for p in ("fp32", "bf16")}

    def ocell(o: dict[str, Any] | None, base: str) -> str:
        if o is None:
            return "-"
        ratio, ms = o["monitored_over"][base]["median_ratio"], o["ms_per_step"]["monitored"]["median"]
        return f"{ratio:.3f} ({ms:.2f} ms/step)"

    def tcell(t: dict[str, Any] | None) -> str:
        if t is None:
            return "-"
        return f"{t['ratio']:.2f}× ({t['trial_samples_per_s']:.0f} vs {t['trainer_samples_per_s']:.0f} samples/s)"

    lines += ["| check | fp32 | bf16 | goal |", "| --- | --- | --- | --- |"]
    for base in ("plain", "plain-real"):
        lines.append(f"| monitored / {base} step, median of interleaved ratios | {ocell(over['fp32'], base)} | "
                     f"{ocell(over['bf16'], base)} | ≤ 1.02 |")  # fmt: skip
    lines.append(f"| trial / neuralop.Trainer samples/s | {tcell(thr['fp32'])} | {tcell(thr['bf16'])} | ≥ 1.0× |")
    sized = next((o for o in over.values() if o), None)
    if sized:
        lines.append(f"\nOverhead: FNO {sized['size']}², width {sized['width']}, {sized['modes']} modes, "
                     f"{sized['layers']} layers, batch {sized['batch']}, {sized['reps']} × {sized['steps']} steps.")
    sized = next((t for t in thr.values() if t), None)
    if sized:
        lines.append(f"Throughput: Darcy {sized['res']}², {sized['n_train']} samples, width {sized['width']}, "
                     f"{sized['modes']} modes, batch {sized['batch']}, {sized['epochs']} epochs (first dropped).")

    if pack := done("packing"):
        how = "in threads (dry: the inline executor)" if r["dry"] else "through Ray with `gpu: 1/n`"
        lines += ["", f"Packing: n quickstart-size trials at once ({pack['epochs_per_trial']} epochs each) {how}. "
                  "Steady: the sum of each trial's epochs/s after its first epoch; "
                  "scaling: steady total / (n × the lone trial's).", "",
                  "Peak memory: on a GPU torch's allocations in each trial's worker (its CUDA context comes on "
                  "top); on a CPU the process's peak RSS.", "",
                  "| n | wall s | total epochs/s (wall) | total epochs/s (steady) | scaling | peak MiB per trial |",
                  "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for row in pack["rows"]:
            if "skipped" in row:
                lines.append(f"| {row['n']} | skipped ({row['skipped']}) | | | | |")
            else:
                lines.append(f"| {row['n']} | {row['wall_s']:.1f} | {row['total_epochs_per_s_wall']:.2f} | "
                             f"{row['total_epochs_per_s_steady']:.2f} | {row['scaling_efficiency']:.2f} | "
                             f"{row['peak_mem_mib_per_trial']:.0f} |")  # fmt: skip
    if paper := done("paper_darcy"):
        lines += ["", f"Darcy s={paper['resolution']} ({paper['n_train']} train / {paper['n_test']} test, generated "
                  f"by fnosweep in {paper['generation_s']:.0f} s), the FNO paper's setup: relative L2 "
                  f"{paper['final_l2']:.4f} after {paper['epochs_run']} of {paper['epochs_planned']} epochs (best "
                  f"{paper['best_l2']:.4f}; the paper reports {PAPER_L2}), {paper['median_epoch_s']:.3f} s an epoch."
                  + (f" {paper['stopped'].capitalize()}." if paper["stopped"] else "")]  # fmt: skip
        every = ", ".join(f"{k}: {v:.4f}" for k, v in paper["l2_every_50"].items())
        if every:
            lines.append(f"L2 by epoch: {every}.")
    if (sweep := done("around_paper")) and "skipped" in sweep:
        notes.append(f"- around_paper: skipped — {sweep['skipped']}")
    elif sweep:
        lines += ["", f"A sweep around it ({sweep['n_trials']} trials × {sweep['epochs']} epochs, "
                  f"{sweep['concurrent']} at once, lr / weight decay / width): best L2 {sweep['best_l2']:.4f} "
                  f"({sweep['best_params']}) against the paper config's {sweep['paper_config_l2_at_same_epoch']:.4f} "
                  f"at the same epoch: {'better' if sweep['better'] else 'not better'}."]  # fmt: skip
    if notes:
        lines += ["", "Not measured in this run:", *notes]
    return "\n".join(lines) + "\n"
