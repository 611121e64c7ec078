"""Every ``Op`` subclass retrograd defines, for the tests that hold each op to a rule (a save
declaration, a jvp, a row of the spec table)."""

import importlib
import pkgutil

import retrograd as rg
from retrograd.autograd.op import Op


def retrograd_op_classes(skip_modules: tuple = ()) -> list:
    """Every subclass of ``Op`` (at any depth) defined in a retrograd module, each once, after
    importing every retrograd module (so the list does not depend on test order); modules whose
    name starts with one of ``skip_modules`` are neither imported nor listed."""
    for info in pkgutil.walk_packages(rg.__path__, "retrograd."):
        if not info.name.startswith(skip_modules or ("\0",)):
            importlib.import_module(info.name)
    found, todo = [], [Op]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if (sub.__module__.startswith("retrograd.") and not sub.__module__.startswith(skip_modules or ("\0",))
                    and sub not in found):
                found.append(sub)
    return found
