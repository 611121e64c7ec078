"""Every Python example of the user guide (``docs/guide/*.rst``, ``.. code-block:: python``) runs as
written, in a fresh interpreter in an empty folder, as the README's blocks do (``test_readme.py``):
the guide's code cannot drift from the library (the tutorials run in the docs build itself)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide"


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line, code) of every ``.. code-block:: python`` directive's indented body in ``path``."""
    lines, blocks, i = path.read_text(encoding="utf-8").splitlines(), [], 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            start, i, body = i + 1, i + 1, []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                if lines[i].strip().startswith(":") and not body:  # directive options (:caption: …)
                    i += 1
                    continue
                body.append(lines[i])
                i += 1
            blocks.append((start, textwrap.dedent("\n".join(body)).strip() + "\n"))
        else:
            i += 1
    return blocks


BLOCKS = [(f"{p.name}:{line}", code) for p in sorted(GUIDE.glob("*.rst")) for line, code in python_blocks(p)]


def test_the_guide_has_examples():
    assert len(BLOCKS) >= 8, [name for name, _ in BLOCKS]


@pytest.mark.parametrize("name, code", BLOCKS, ids=[name for name, _ in BLOCKS])
def test_guide_example_runs(name, code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{name} failed:\n{code}\n--- stderr ---\n{run.stderr[-3000:]}"
