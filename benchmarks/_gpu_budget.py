"""The time budget of benchmarks/gpu_check.py: each step runs only if its estimate fits."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any


class Budget:
    """Seconds left of the whole run, counted from the process start (setup included)."""

    def __init__(self, seconds: float, started: float) -> None:
        self.seconds, self.started = seconds, started

    def left(self) -> float:
        return self.seconds - (time.time() - self.started)

    def fits(self, need_s: float) -> bool:
        return self.left() >= need_s


def step(results: dict[str, Any], name: str, budget: Budget, need_s: float) -> Callable[[Callable[[], Any]], None]:
    """Run a step if `need_s` seconds are left; its figures, skip reason or error go to results."""

    def run(fn: Callable[[], Any]) -> None:
        if not budget.fits(need_s):
            results[name] = {"status": "skipped", "reason": f"needs ~{need_s:.0f} s, {budget.left():.0f} s left"}
        else:
            started = time.time()
            try:
                results[name] = {"status": "done", **fn()}
            except Exception as e:  # a failed step is a finding; the others still run
                results[name] = {"status": "failed", "error": f"{type(e).__name__}: {e}",
                                 "traceback": traceback.format_exc()[-4000:]}  # fmt: skip
            results[name]["seconds"] = round(time.time() - started, 1)
        print(f"[{name}] {results[name]['status']} ({budget.left():.0f} s left)", flush=True)

    return run
