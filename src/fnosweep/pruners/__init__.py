"""Optuna pruners of fnosweep's own, usable in any Optuna study.

`CurvePruner` reads each trial's learning curve: it prunes a trial when even the optimistic
end of its projected final value is worse than the best finished trial. No torch here.
"""

from fnosweep.pruners._decide import CurveSettings, Decision, decide
from fnosweep.pruners._fit import Projection, project
from fnosweep.pruners._pruner import ATTR, CurvePruner, explain

__all__ = ["ATTR", "CurvePruner", "CurveSettings", "Decision", "Projection", "decide", "explain",
           "project"]
