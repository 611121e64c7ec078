"""Imports go one way: each package imports only itself and packages on lower layers.

    autograd (the core), random, plot  ←  ops  ←  nn  ←  recurrent  ←  bptt
    ←  optim, data, checkpoint  ←  train, distributed  ←  demos  ←  cli

Every relative import counts, including those inside functions (a call-time
import is still a dependency), and so does an absolute ``import retrograd.x``.
"""

import ast
import pathlib

import pytest

import retrograd

LAYERS = {
    "autograd": 0, "random": 0,
    "plot": 0,  # matplotlib helpers that import nothing of retrograd: usable from any layer
    "ops": 1,
    "nn": 2,
    "distributions": 2,  # probability distributions composed of ops (linalg, special) and rg's random generator
    "recurrent": 3, "func": 3,
    "bptt": 4,
    "datasets": 4,  # map-style datasets (torch.utils.data's): below data, whose DataLoader reads them
    "optim": 5, "data": 5, "checkpoint": 5,
    "train": 6, "distributed": 6, "explore": 6,
    "utils": 6,  # torch.utils' names: activation checkpointing (on autograd, nn) and data (re-exports rg.data)
    "demos": 7, "cli": 8,
}
ROOT = pathlib.Path(retrograd.__file__).parent


def _imports(path):
    """(line, imported retrograd top-level module) for every import of retrograd in ``path``."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = rel[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            target = list(base) + (node.module.split(".") if node.module else [])
            if not target:  # "from . import x" at the top level
                for a in node.names:
                    yield node.lineno, a.name
            else:
                yield node.lineno, target[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("retrograd."):
            yield node.lineno, node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("retrograd."):
                    yield node.lineno, a.name.split(".")[1]


FILES = [p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT]


def test_every_module_has_a_layer():
    tops = {p.relative_to(ROOT).with_suffix("").parts[0] for p in FILES}
    assert tops <= set(LAYERS), f"modules without a layer: {tops - set(LAYERS)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down_the_layers(path):
    own_pkg = path.relative_to(ROOT).with_suffix("").parts[0]
    own = LAYERS[own_pkg]
    for line, target in _imports(path):
        if target in LAYERS and target != own_pkg:
            assert LAYERS[target] < own, (f"{path.relative_to(ROOT)}:{line} imports {target} (layer "
                                          f"{LAYERS[target]}) from {own_pkg} (layer {own}): imports must go down")
