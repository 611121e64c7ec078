"""Sphinx configuration of retrograd's documentation.

Build: ``python -m sphinx -b html docs docs/_build/html`` (the tests add ``-W --keep-going``).
Nothing here reaches the network: intersphinx and MathJax are off (formulas are written in Unicode), the theme is Sphinx's bundled alabaster,
and the tutorials (sphinx-gallery, ``docs/tutorials/*.py``) run on the CPU in a few seconds each.

The API pages (``docs/api/*.rst``) are generated on every build from the public names of each
module (``__all__``, or the non-underscore names defined in retrograd), so a new public name is
documented without editing anything here; they are build outputs and are not committed.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))       # the checkout's retrograd, installed or not

os.environ.setdefault("MPLBACKEND", "Agg")          # figures are files; no display is needed

import retrograd  # noqa: E402

project = "retrograd"
author = "the retrograd authors"
copyright = "retrograd authors, MIT licence"
release = version = getattr(retrograd, "__version__", None) or "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx_gallery.gen_gallery",
]

html_theme = "alabaster"
html_title = "retrograd"
html_static_path: list[str] = []
templates_path: list[str] = []
exclude_patterns = ["_build", "tutorials/*", "auto_tutorials/*.ipynb", "auto_tutorials/*.py", "auto_tutorials/*.zip",
                    "**.codeobj.json"]
root_doc = "index"
# Every cross-reference (:func:`…`, :class:`…`, :doc:`…`) must resolve: with -W an unresolved one fails
# the build. No nitpick_ignore is needed: signatures carry no annotations (autodoc_typehints = "none"), and
# docstrings write types and names as ``literals`` (default_role below), not as references.
nitpicky = True
# Docstrings write absolute values as plain text, ``|x|``, ``|y|``: reST reads ``|x|`` as a
# substitution reference. Defining those substitutions as themselves keeps the text as written.
rst_prolog = "\n".join(f".. |{v}| replace:: \\|{v}\\|" for v in "xy") + "\n"
default_role = "code"                # a stray `single-backquoted` word in a docstring is code, not a warning

autodoc_member_order = "bysource"
autodoc_typehints = "none"           # signatures as written; annotations name private types
autosummary_generate = False         # the API pages below list every name themselves (one page per module)

sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_",   # every tutorial is executed
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": False,  # a failing tutorial is reported (and with -W fails the build)
    "only_warn_on_example_error": False,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "first_notebook_cell": None,
    "plot_gallery": "True",
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "show_signature": False,
    # the global timing page loads DataTables from a CDN: the build log prints the times instead,
    # and each tutorial's page says its own running time
    "write_computation_times": False,
}

# ---------------------------------------------------------------------------- the API pages

# (page, title, module, intro) — one page per public module, in reading order
API_MODULES = [
    ("retrograd", "``retrograd`` (``rg``): tensors, ops, gradients", "retrograd",
     "The top level: tensors, every differentiable op, losses, ``grad``/``backward``, modes, checking "
     "and saving. ``import retrograd as rg``."),
    ("nn", "``rg.nn``: modules and layers", "retrograd.nn", None),
    ("nn.functional", "``rg.nn.functional``", "retrograd.nn.functional", None),
    ("nn.init", "``rg.nn.init``", "retrograd.nn.init", None),
    ("nn.utils", "``rg.nn.utils``", "retrograd.nn.utils", None),
    ("func", "``rg.func``: function transforms", "retrograd.func", None),
    ("autograd.functional", "``rg.autograd.functional``", "retrograd.autograd.functional", None),
    ("autograd.forward_ad", "``rg.autograd.forward_ad``: dual tensors", "retrograd.autograd.forward_ad", None),
    ("special", "``rg.special``: PyTorch's special functions", "retrograd.special", None),
    ("linalg", "``rg.linalg``: linear algebra with derivatives", "retrograd.linalg", None),
    ("distributions", "``rg.distributions``: probability distributions", "retrograd.distributions", None),
    ("bptt", "``rg.bptt``: backpropagation through time", "retrograd.bptt", None),
    ("optim", "``rg.optim``: optimizers and schedules", "retrograd.optim", None),
    ("train", "``rg.train``: the training loop", "retrograd.train", None),
    ("data", "``rg.data``: loaders and stateful batches", "retrograd.data", None),
    ("utils.checkpoint", "``rg.utils.checkpoint``: activation checkpointing", "retrograd.utils.checkpoint", None),
    ("checkpoint", "``rg.checkpoint``: save and load", "retrograd.checkpoint", None),
    ("distributed", "``rg.distributed``: data parallelism over MPI", "retrograd.distributed", None),
    ("explore", "``rg.explore``: the HTML explorer", "retrograd.explore", None),
    ("conventions", "``rg.conventions``: gradients at kinks and ties", "retrograd.conventions", None),
    ("graph", "``rg.graph``: walking a recorded graph", "retrograd.graph", None),
]

DTYPES = ("float32", "float64", "int32", "int64", "bool")


def _module(name: str):
    """``retrograd.conventions`` is an attribute of the package (the module is autograd/conventions.py)."""
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for p in parts[1:]:
        obj = getattr(obj, p, None) if hasattr(obj, p) else importlib.import_module(f"{obj.__name__}.{p}")
    return obj


def public_names(mod) -> list[str]:
    """``__all__`` when the module has one, else the names it defines or re-exports from retrograd
    (no submodules, no imports of NumPy or the standard library, no ``__future__`` flags)."""
    names = getattr(mod, "__all__", None)
    if names is not None:
        names = list(names)  # (rg.nn's recurrent layers are added to nn.__all__ by retrograd.recurrent)
    else:
        names = []
        for n in dir(mod):
            if n.startswith("_"):
                continue
            obj = getattr(mod, n)
            if isinstance(obj, types.ModuleType) or obj.__class__.__name__ == "_Feature":
                continue
            owner = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
            home = "retrograd" if mod.__name__ == "retrograd" else mod.__name__
            if mod.__name__ == "retrograd.nn.functional":  # F re-exports the functions of rg.nn's own modules
                home = "retrograd.nn"
            if owner is not None and not (owner == home or owner.startswith(home + ".")):
                if not (mod.__name__ == "retrograd" and n in DTYPES):
                    continue              # re-exported from elsewhere: documented where it lives
            if owner is None and not n.isupper():
                continue                  # module-level values: only CONSTANTS are API
            names.append(n)
    return [n for n in names if not isinstance(getattr(mod, n, None), types.ModuleType)]


def _directive(obj) -> str:
    if inspect.isclass(obj):
        return "autoexception" if issubclass(obj, BaseException) else "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


def _underline(title: str, ch: str = "=") -> str:
    return f"{title}\n{ch * len(title)}\n"


def write_api_pages(app=None) -> None:
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    toc = []
    seen_classes: dict[int, str] = {}
    for page, title, modname, intro in API_MODULES:
        mod = _module(modname)
        names = public_names(mod)
        shown = modname if modname != "retrograd" else "retrograd"
        lines = [f".. This page is generated by docs/conf.py on every build; do not edit.\n",
                 _underline(title)]
        lines.append(f".. currentmodule:: {shown}\n")
        if intro:
            lines.append(intro + "\n")
        elif mod.__doc__:
            lines.append(f".. automodule:: {shown}\n   :no-members:\n   :no-index:\n")
        regular = [n for n in names if n not in DTYPES or modname != "retrograd"]
        lines.append(".. autosummary::\n   :nosignatures:\n\n" + "".join(f"   {n}\n" for n in regular))
        if modname == "retrograd":
            lines.append(_underline("dtypes", "-"))
            lines.append("NumPy's scalar types, re-exported: ``rg.float32`` (the default float dtype, "
                         "``rg.set_default_dtype``), ``rg.float64``, ``rg.int32``, ``rg.int64``, ``rg.bool``.\n")
            for d in DTYPES:
                lines.append(f".. py:data:: {d}\n\n   ``numpy.{d if d != 'bool' else 'bool_'}``\n")
        lines.append(_underline("Reference", "-"))
        for n in regular:
            obj = getattr(mod, n)
            d = _directive(obj)
            opts = "   :members:\n" if d == "autoclass" else ""
            if inspect.isclass(obj):
                # a class re-exported by two modules (rg.CheckpointError, rg.checkpoint.CheckpointError):
                # autodoc would register its canonical name twice (a duplicate-description warning), so
                # the later page names it and points to the first
                if id(obj) in seen_classes:
                    kind = "exception" if issubclass(obj, BaseException) else "class"
                    lines.append(f".. py:{kind}:: {n}\n\n   The same class as :{kind[:3] if kind == 'class' else 'exc'}:"
                                 f"`{seen_classes[id(obj)]}` (documented there).\n")
                    continue
                seen_classes[id(obj)] = f"{shown}.{n}"
            if d == "autodata":
                opts = "   :no-value:\n" if not isinstance(obj, (int, str, float, tuple)) else ""
            lines.append(f".. {d}:: {n}\n{opts}")
        (out / f"{page}.rst").write_text("\n".join(lines), encoding="utf-8")
        toc.append(page)
    index = [".. This page is generated by docs/conf.py on every build; do not edit.\n",
             _underline("API reference"),
             "Every public name of each module, from its docstring. ``import retrograd as rg``.\n",
             ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {p}\n" for p in toc)]
    (out / "index.rst").write_text("\n".join(index), encoding="utf-8")


write_api_pages()
