"""The names a script or expression assigns, binds, reads and calls, read from its syntax tree in one walk.

The model checks ask these questions of every script several times as a model is saved (names nobody sets, data
objects, data outputs, SpiffArena helpers): each parsed and walked the script again, nine parses of each script
(3.7 s for one script of 99 kB on a 2-CPU EPYC, benchmarks/model_check.py; 0.44 s with one).
:func:`app.engine.scripting.script_names` keeps the answer with the script's compiled code, from the one parse the
sandbox's compilation makes (the sandbox then rewrites that tree in place, so the tree itself is never kept or
handed out: only these frozen sets are).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True)
class ScriptNames:
    """``assigned``: names stored by an assignment or a loop target; ``bound``: those, deleted names, and function
    and lambda names and arguments (names the source gives itself); ``read``: names loaded and not bound;
    ``called``: names called directly, as ``f(...)``."""

    assigned: frozenset[str]
    bound: frozenset[str]
    read: frozenset[str]
    called: frozenset[str]


def names_in(tree: ast.AST) -> ScriptNames:
    """The names of a parsed source; reads the tree, changes nothing in it."""
    assigned: set[str] = set()
    bound: set[str] = set()
    loaded: set[str] = set()
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.add(node.id)
            else:
                bound.add(node.id)
                if isinstance(node.ctx, ast.Store):
                    assigned.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called.add(node.func.id)
        elif isinstance(node, _FUNCTIONS):
            args = node.args
            bound.update(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
            bound.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
            if not isinstance(node, ast.Lambda):
                bound.add(node.name)
    return ScriptNames(frozenset(assigned), frozenset(bound), frozenset(loaded - bound), frozenset(called))
