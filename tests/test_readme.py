"""Every Python block of README.md runs as written, so the examples cannot drift.

A ```python block is run one of two ways:

* a block whose first line starts with ``>>>`` is a doctest: its printed output
  must match (``doctest.ELLIPSIS`` and ``NORMALIZE_WHITESPACE`` allowed);
* any other block is a script: written to a file and run by a fresh
  interpreter in an empty temporary folder (files it writes land there), with
  a timeout. It must exit 0.

Each block stands alone: a reader pastes one block, not the whole page.
A block that truly cannot run here says so on its first line,
``# not run: <reason>``; the test lists those blocks (and the reasons) and
checks that they stay rare.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NOT_RUN = "# not run:"
MAX_NOT_RUN = 1     # the escape hatch is for the rare block that needs hardware, not for convenience
TIMEOUT_S = 120


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every ```python fenced block, in order."""
    blocks, inside, start, lines = [], False, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not inside and re.fullmatch(r"```\s*python\s*", stripped):
            inside, start, lines = True, number + 1, []
        elif inside and stripped == "```":
            blocks.append((start, "\n".join(lines) + "\n"))
            inside = False
        elif inside:
            lines.append(line)
    assert not inside, f"README.md: the ```python block at line {start} is never closed"
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def _id(block):
    line, code = block
    first = next((s for s in code.splitlines() if s.strip()), "")
    return f"line{line}:{first.strip()[:30]}"


def test_the_readme_has_python_blocks_and_few_are_skipped():
    assert len(BLOCKS) >= 5
    skipped = [(line, code.splitlines()[0]) for line, code in BLOCKS if code.lstrip().startswith(NOT_RUN)]
    assert len(skipped) <= MAX_NOT_RUN, f"too many README blocks marked '{NOT_RUN}': {skipped}"


@pytest.mark.parametrize("block", BLOCKS, ids=[_id(b) for b in BLOCKS])
def test_readme_block_runs(block, tmp_path):
    line, code = block
    if code.lstrip().startswith(NOT_RUN):
        pytest.skip(f"README.md line {line}: {code.lstrip().splitlines()[0]}")
    if code.lstrip().startswith(">>>"):
        _run_doctest(line, code, tmp_path)
    else:
        _run_script(line, code, tmp_path)


def _env():
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK"):  # a world of one, even under an MPI launcher
        env.pop(name, None)
    return env


def _run_script(line, code, tmp_path):
    script = tmp_path / f"readme_line{line}.py"
    script.write_text(code, encoding="utf-8")
    try:
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"README.md block at line {line} ran past {TIMEOUT_S} s:\n{code}\n{e.stdout or ''}")
    assert proc.returncode == 0, (f"README.md block at line {line} failed (exit {proc.returncode}):\n{code}\n"
                                  f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}")


def _run_doctest(line, code, tmp_path):
    # empty globals: like a reader's fresh interpreter, the block imports what it uses
    parser = doctest.DocTestParser()
    test = parser.get_doctest(code, {}, f"README.md:{line}", str(README), line - 1)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = []
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        runner.run(test, out=out.append)
    finally:
        os.chdir(cwd)
    assert runner.failures == 0, "".join(out)



def _plain_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of every untagged ``` block (shown output, trees)."""
    blocks, inside, start, lines = [], False, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not inside and stripped.startswith("```"):
            inside, tagged, start, lines = True, stripped != "```", number + 1, []
        elif inside and stripped == "```":
            if not tagged:
                blocks.append((start, "\n".join(lines)))
            inside = False
        elif inside:
            lines.append(line)
    return blocks


def test_the_explain_table_shown_is_what_the_tape_block_prints(tmp_path):
    """The README shows the table ``rg.explain`` prints for its 20-line tape: it is that block's output."""
    text = README.read_text(encoding="utf-8")
    tape = next((line, code) for line, code in BLOCKS if "rg.explain(loss)" in code and ">>>" not in code)
    shown = next(body for _, body in _plain_blocks(text) if body.startswith("step  op"))
    script = tmp_path / "tape.py"
    script.write_text(tape[1], encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=TIMEOUT_S, check=True).stdout
    strip = lambda s: [line.rstrip() for line in s.strip().splitlines()]
    assert strip(out) == strip(shown)
