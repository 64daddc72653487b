"""The command line: thin Typer commands, one module per group (`main`: run, validate,
submit; `views`: diagnose, report, trials, dashboard; `data`: PDE data generation).
Expected failures reach `main()` as `FnosweepError`: one line on stderr, exit 1."""

from fnosweep.cli.main import app, main

__all__ = ["app", "main"]
