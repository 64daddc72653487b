"""Numbers as the seeds write them: 0.8695, 69,265,345, 1e-4, 3.6×, -19 %."""

from __future__ import annotations

import math
from typing import Any


def num(x: float | int | None, digits: int = 4) -> str:
    """A measured value: 4 significant digits, thousands separators for big ones."""
    if x is None:
        return "n/a"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Inf" if x > 0 else "-Inf")
    if x == 0:
        return "0"
    if abs(x) >= 1e5 and float(x).is_integer():
        return f"{int(x):,}"
    if abs(x) < 1e-3 or abs(x) >= 1e6:
        return sci(x, digits - 1)
    if abs(x) < 1:
        return f"{x:.{digits}g}"
    # decimals rather than significant digits above 1: 1.0008 must not read as 1.001
    places = 4 if abs(x) < 10 else 2 if abs(x) < 1000 else 0
    text = f"{x:,.{places}f}"
    return text.rstrip("0").rstrip(".") if places else text


def param(value: Any) -> str:
    """A parameter value wherever one is printed (tables, text, the report): floats to 4
    significant digits (``0.016``, ``1e-4``, ``2.5e-3``), ints as they are, None as ``none``.
    Full precision only in JSON and the trials export."""
    if value is None:
        return "none"
    if isinstance(value, float):
        if value != 0 and math.isfinite(value) and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return sci(value, 4)
        return f"{value:.4g}"
    return str(value)


def sci(x: float | None, digits: int = 2) -> str:
    """A learning rate or weight decay: ``1e-4``, ``8.85e-6``, ``3.3e-5``."""
    if x is None:
        return "n/a"
    if x == 0 or not math.isfinite(x):
        return num(x)
    mantissa, exp = f"{x:.{max(digits, 1) - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exp)}"


def factor(x: float | None) -> str:
    """A growth factor: ``3.6×``, ``346×``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.2g}×" if x < 10 else f"{x:,.0f}×"


def pct(fraction: float | None, signed: bool = True) -> str:
    """A relative change or share: ``-19 %``, ``+4.4 %``, ``97 %``."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    p = 100 * fraction
    text = f"{abs(p):.2g}" if abs(p) < 10 else f"{abs(p):.0f}"
    sign = ("+" if p > 0 else "-" if p < 0 else "") if signed else ("-" if p < 0 else "")
    return f"{sign}{text} %"


def epochs(first: int, last: int) -> str:
    return f"epoch {first}" if first == last else f"epochs {first}–{last}"


def lower(x: float, by: float = 3.0) -> float:
    """A lower setting, rounded to one significant digit: 1e-4 / 3 -> 3e-5."""
    return float(f"{x / by:.0e}")


def clip(x: float | None) -> str:
    """A clip threshold as configs write it: ``10.0``, ``0.5``."""
    if x is None:
        return "none"
    return f"{x:.1f}" if float(x).is_integer() else f"{x:g}"
