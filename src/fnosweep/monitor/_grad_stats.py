"""Pure helpers of the stability monitor: parameter groups, quantiles, peak memory.

No torch here: the monitor gathers its inputs (parameter names, the per-step norms
read back once per epoch) and these small functions decide what they mean.
"""

from __future__ import annotations

import math
import re
import resource
import sys
from collections.abc import Sequence

from fnosweep.history import FNO_TOP_GROUPS

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
"""Name prefixes added by DistributedDataParallel / DataParallel and torch.compile."""

# fno_blocks.{convs,fno_skips,channel_mlp,channel_mlp_skips}.{i}.* belongs to block i.
_BLOCK_PART = re.compile(r"^fno_blocks\.(?:convs|fno_skips|channel_mlp|channel_mlp_skips)\.(\d+)\.")
# fno_blocks.norm.{j}.* is block j // norms_per_block (FNOBlocks.n_norms: 2 in neuralop 2.0).
_BLOCK_NORM = re.compile(r"^fno_blocks\.norm\.(\d+)\.")


def strip_wrapper_prefix(name: str) -> str:
    """``module._orig_mod.lifting.fcs.0.weight`` -> ``lifting.fcs.0.weight``."""
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name, changed = name[len(prefix) :], True
    return name


def groups_of(name: str, norms_per_block: int = 2) -> tuple[str, ...]:
    """The layer groups one parameter belongs to: its first name component, and for an
    FNO block parameter also the block (``fno_blocks.1``)."""
    name = strip_wrapper_prefix(name)
    top = name.split(".", 1)[0]
    if top != "fno_blocks":
        return (top,)
    if m := _BLOCK_PART.match(name):
        return (top, f"fno_blocks.{int(m.group(1))}")
    if m := _BLOCK_NORM.match(name):
        return (top, f"fno_blocks.{int(m.group(1)) // norms_per_block}")
    return (top,)


def group_membership(names: Sequence[str], norms_per_block: int = 2) -> tuple[list[str], list[list[int]]]:
    """Group names in display order and, per group, the indices of its parameters.

    Order: ``lifting``, ``fno_blocks``, ``projection`` (those present), then the blocks
    by number, then any other group alphabetically.
    """
    members: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        for group in groups_of(name, norms_per_block):
            members.setdefault(group, []).append(i)

    def order(group: str) -> tuple[int, int, str]:
        if group in FNO_TOP_GROUPS:
            return (0, FNO_TOP_GROUPS.index(group), "")
        if group.startswith("fno_blocks."):
            return (1, int(group.split(".")[1]), "")
        return (2, 0, group)

    ordered = sorted(members, key=order)
    return ordered, [members[g] for g in ordered]


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of ascending values, linear interpolation between
    order statistics (numpy's and torch.quantile's default). NaN for no values."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def norm_summary(norms: Sequence[float], exact_max: float, first: float) -> dict[str, float]:
    """``median``, ``p95``, ``max`` and ``first`` of an epoch's total gradient norms.

    ``norms`` are the recorded per-step norms (all steps, or the strided subsample);
    non-finite ones are left out of median and p95 (they are counted elsewhere, as
    non-finite steps). ``exact_max`` is the device's running max over finite steps,
    exact even when ``norms`` is a subsample. With no finite step all are NaN.
    """
    finite = sorted(v for v in norms if math.isfinite(v))
    if not finite:
        return {"median": math.nan, "p95": math.nan, "max": math.nan, "first": first}
    return {
        "median": quantile(finite, 0.5),
        "p95": quantile(finite, 0.95),
        "max": exact_max,
        "first": first,
    }


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes (never decreases)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS: bytes; Linux: KiB
