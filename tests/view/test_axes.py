"""Axis ranges from the values a user compares: a table of cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fnosweep.view.axes import GROW, Axis, axis_range, curve_ends, near_best

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    ("focus", "every", "log", "expected"),
    [
        # the case: best curves in [0.05, 0.5], one trial at 1e8 -> the axis reaches
        # a quarter of the focus span (in decades) past them, not to 1e8
        ([0.05, 0.5], [0.05, 0.5, 1e8], True, (0.05, 0.5 * 10**GROW)),
        # grad norms between 1 and 100 with a 1e12 spike
        ([1, 3, 100], [1, 100, 1e12, 5], True, (1, 100 * 10 ** (2 * GROW))),
        # everything within reach: the axis spans it all, nothing is clipped
        ([0.1, 1.0], [0.09, 1.5], True, (0.09, 1.5)),
        # linear: 0..1 focus, outliers at -50 and 40 -> reach 0.25 each side
        ([0.0, 1.0], [-50, 0.5, 40], False, (-0.25, 1.25)),
        # NaN, inf and (on log axes) values <= 0 are not data to span
        ([0.1, NAN, INF, 1.0], [0, -1, NAN], True, (0.1, 1.0)),
        # no focus: the focus is every value
        ([], [2.0, 4.0], False, (2.0, 4.0)),
        # one focus value: spans every value (no span to judge outliers by)
        ([0.0, 0.0], [0.0, 1.0], False, (0.0, 1.0)),
        # a single value on a log axis: a decade around it
        ([10.0], [10.0], True, (10**0.5, 10**1.5)),
        # a single 0 on a linear axis: +-0.5
        ([0.0], [], False, (-0.5, 0.5)),
    ],
)
def test_axis_range(focus, every, log, expected):
    axis = axis_range(focus, every, log=log)
    assert axis is not None and axis.log is log
    assert (axis.low, axis.high) == pytest.approx(expected)


@pytest.mark.parametrize(("focus", "every", "log"), [([], [], True), ([NAN], [INF, -INF], False), ([0, -1], [], True)])
def test_nothing_to_span_leaves_plotly_its_autorange(focus, every, log):
    assert axis_range(focus, every, log=log) is None


def test_the_focus_fills_two_thirds_of_the_axis_whatever_the_outliers():
    rng = np.random.default_rng(0)
    for _ in range(200):
        focus = 10 ** rng.uniform(-3, 1, size=5)
        every = np.r_[focus, 10 ** rng.uniform(-10, 12, size=20)]
        axis = axis_range(focus, every, log=True)
        lo, hi = axis.plotly_range()
        share = (np.log10(focus.max()) - np.log10(focus.min())) / (hi - lo)
        assert share >= 1 / (1 + 2 * GROW) / 1.1  # the 4 % pads on each side


@pytest.mark.parametrize(
    ("values", "log", "clipped", "side"),
    [
        ([0.5, 2.0, 20.0, NAN, INF], True, [1.0, 2.0, 10.0, NAN, INF], [-1, 0, 1, 0, 0]),
        ([0.0, -3.0, 5.0], True, [1.0, 1.0, 5.0], [-1, -1, 0]),
        ([0.0, -3.0, 5.0], False, [1.0, 1.0, 5.0], [-1, -1, 0]),
    ],
)
def test_clip_puts_values_on_the_edge_they_passed(values, log, clipped, side):
    y, s = Axis(1.0, 10.0, log).clip(values)
    np.testing.assert_array_equal(y, clipped)
    assert s.tolist() == side


def test_plotly_range_is_in_log10_units_on_log_axes():
    assert Axis(1e-2, 1e2, True).plotly_range() == pytest.approx([-2 - 0.16, 2 + 0.16])
    assert Axis(0.0, 1.0, False).plotly_range() == pytest.approx([-0.04, 1.04])


@pytest.mark.parametrize(
    ("values", "direction", "kept"),
    [
        ([0.05, 0.08, 0.4, 1e5], "minimize", [0.05, 0.08, 0.4]),
        ([0.9, 0.5, 0.01], "maximize", [0.9, 0.5]),
        ([-1.0, 2.0, NAN], "minimize", [-1.0, 2.0]),  # mixed signs: no ratio, all finite values
        ([NAN], "minimize", []),
    ],
)
def test_near_best(values, direction, kept):
    assert near_best(values, direction=direction).tolist() == kept


@pytest.mark.parametrize(
    ("numbers", "values", "ends"),
    [
        ([1, 1, 1, 2, 2, 2], [1.0, 2.0, NAN, 1.0, 1.0, 1.0], [1]),  # trial 1 diverged after its 2nd epoch
        ([1, 1, 2, 2], [1.0, INF, NAN, NAN], [0]),  # trial 2 never had a finite value: nothing to mark
        ([3, 3, 3], [1.0, NAN, 2.0], []),  # a gap inside a curve is not an end
        ([], [], []),
    ],
)
def test_curve_ends_mark_the_last_finite_value_of_curves_that_diverged(numbers, values, ends):
    assert curve_ends(np.asarray(numbers), np.asarray(values, dtype=float)).tolist() == ends
