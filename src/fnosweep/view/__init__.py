"""See a sweep: tables (pandas), figures (plotly), one HTML report, optuna-dashboard.

Nothing heavy is imported here: `fnosweep --help` must not pay for pandas or plotly.
"""

from __future__ import annotations
