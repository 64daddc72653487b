"""The package's plan, checked from its imports: arrows point down the concepts, one owner
per outside system, and no import circle between concepts.

Imports under `if TYPE_CHECKING:` are type-only and do not count; imports inside a
function (the light-CLI habit) do.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fnosweep"

LAYERS = [
    {"errors", "files", "urls"},
    {"history"},
    {"data"},
    {"spec"},
    {"space", "store"},
    {"diagnose", "monitor"},
    {"pruners", "trial"},
    {"executor", "conclude"},
    {"sweep"},
    {"view"},
    {"cluster"},
    {"cli", "testing"},
]
"""Concepts from the bottom up: a module imports only its own concept or those below it."""
LEVEL = {concept: i for i, layer in enumerate(LAYERS) for concept in layer}

OWNERS = {
    "sqlalchemy": {"store"},
    "ray": {"executor", "cluster"},
    "torch": {"trial", "monitor", "data"},
    "neuralop": {"trial", "monitor", "data"},
}
"""Each outside system and the concepts allowed to import it."""

def concept(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every runtime import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "fnosweep":  # `from fnosweep import x`: x is the concept
                yield from ((node.lineno, f"fnosweep.{a.name}") for a in node.names)
            else:
                yield node.lineno, node.module


FILES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def test_every_concept_has_a_layer():
    assert {concept(p) for p in FILES} <= set(LEVEL)


def test_arrows_point_down():
    wrong = []
    for path in FILES:
        here = concept(path)
        for line, module in imports(path):
            parts = module.split(".")
            if parts[0] != "fnosweep" or len(parts) < 2:
                continue
            there = parts[1]
            if there in LEVEL and LEVEL[there] > LEVEL[here]:
                wrong.append(f"{path.relative_to(SRC)}:{line} ({here}) imports {module} ({there})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("system", sorted(OWNERS))
def test_one_owner_per_outside_system(system):
    wrong = [
        f"{path.relative_to(SRC)}:{line} imports {module}"
        for path in FILES
        for line, module in imports(path)
        if module.split(".")[0] == system and concept(path) not in OWNERS[system]
    ]
    assert not wrong, "\n".join(wrong)


def _opens_a_stored_study(node: ast.AST) -> bool:
    """`optuna.load_study(...)`, `optuna.create_study(storage=...)` or Optuna's private storage;
    an in-memory study (Optuna's importance evaluators need one) is not the sweep's study."""
    if isinstance(node, ast.Attribute) and node.attr == "_storage":
        return True
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr == "load_study":
        return True
    return node.func.attr == "create_study" and any(k.arg == "storage" for k in node.keywords)


def test_the_optuna_study_is_opened_only_by_the_sweep():
    wrong = [
        f"{path.relative_to(SRC)}:{n.lineno}"
        for path in FILES
        # a pruner records its decision on the trial through the study's storage, as Optuna's
        # own SuccessiveHalvingPruner does: the pruner protocol hands it nothing else
        if concept(path) not in {"sweep", "testing", "pruners"}
        for n in ast.walk(ast.parse(path.read_text()))
        if _opens_a_stored_study(n)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_spec_package_loads_no_numpy_optuna_torch_or_diagnosis():
    import subprocess
    import sys

    code = ("import sys, fnosweep.spec; heavy = {'numpy', 'torch', 'ray', 'neuralop', 'optuna', 'fnosweep.diagnose'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC.parent)}, check=True)
    assert out.stdout.strip() == "[]"
