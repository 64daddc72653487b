"""Trial-level figures: pure functions of the trials frame (see `frames.trials_frame`).

Every builder takes DataFrames and plain values and returns a plotly Figure; nothing here
reads a database or a file, so each is tested as a table (given rows, these traces).
Text that came from users (parameter values, reasons) is HTML-escaped before it enters a
figure: plotly.js renders a subset of HTML in labels and hover text.
"""

from __future__ import annotations

from fnosweep.view.figures._objective import importance_figure, objective_figure
from fnosweep.view.figures._parallel import parallel_figure
from fnosweep.view.figures._pruning import pruning_figure
from fnosweep.view.figures._stability import stability_grid_of, stability_map_figure

__all__ = [
    "importance_figure",
    "objective_figure",
    "parallel_figure",
    "pruning_figure",
    "stability_grid_of",
    "stability_map_figure",
]
