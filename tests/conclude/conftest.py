"""The conclusion tests build their trials' histories with the diagnosis tests' builders."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "diagnose"))
