"""Imports go one way: core ← ops ← nn ← recurrent & bptt ← optim ← train ← cli and demos."""

import ast
import pathlib

import pytest

import retrograd

LAYERS = {
    "backend": 0, "tensor": 0, "backprop": 0, "conventions": 0, "random": 0,
    "plot": 0,  # matplotlib helpers that import nothing of retrograd: usable from any layer
    "ops": 1, "gradcheck": 1,
    "nn": 2,
    "recurrent": 3, "bptt": 3,
    "optim": 4,
    "train": 5, "checkpoint": 5, "data": 5,
    "cli": 6, "demos": 6,
}
ROOT = pathlib.Path(retrograd.__file__).parent


def _layer_of(parts):
    return LAYERS[parts[0]]


def _imports(path):
    """(line, imported retrograd top-level module) for every relative import in ``path``."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
            target = list(base) + (node.module.split(".") if node.module else [])
            names = [a.name for a in node.names]
            if not target:  # "from . import x" at the top level
                for n in names:
                    yield node.lineno, n
            else:
                yield node.lineno, target[0]


FILES = [p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down_the_layers(path):
    rel = path.relative_to(ROOT).with_suffix("").parts
    own = _layer_of(rel)
    for line, target in _imports(path):
        if target in LAYERS:
            assert LAYERS[target] <= own, f"{path.name}:{line} imports {target} (layer {LAYERS[target]}) " \
                                          f"from layer {own}"
