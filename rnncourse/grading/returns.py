"""A function's documented return values, checked where an exercise's call looks inside them.

Some exercises return more than the grader compares: ``lstm_step_forward``
returns ``(next_h, next_c, cache)``, and its exercise grades
``lstm_step_forward(...)[:2]``; the backward exercise reads the cache,
``lstm_step_forward(...)[2]``. Without a check, a forward function that forgets
the cache passes its own exercise and makes the backward one fail with a bare
``IndexError``. An :class:`~rnncourse.grading.spec.Exercise` declares
``returns=("next_h", "next_c", "cache")``; the grader then calls that function,
wherever it appears in a call, through :data:`SOURCE`'s ``__documented__``, and
so does :func:`rnncourse.grading.student.check_call`: both say, in the same
words, which documented value is missing.

:data:`SOURCE` is trusted code that the grader runs in the sandbox before the
student's cells (graded code cannot import :mod:`rnncourse`); this module runs
the very same source for the check cells.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

__all__ = ["SOURCE", "MissingReturnValue", "documented", "wrap_call"]

SOURCE = '''
class MissingReturnValue(AssertionError):
    """A function returned fewer (or other) values than its docstring documents."""


def __missing_return__(name, names, value):
    """Why ``value`` is not the documented ``names`` of ``name``; "" when it is."""
    want = f"({', '.join(names)})"
    if not isinstance(value, (tuple, list)):
        kind = (f"an array of shape {value.shape}" if hasattr(value, "shape")
                else f"a {type(value).__name__}")
        return (f"`{name}` returned {kind}, but it must return the tuple {want}: "
                f"return all {len(names)} values")
    if len(value) == len(names):
        return ""
    if len(value) < len(names):
        missing = ", ".join(f"`{n}`" for n in names[len(value):])
        verb = "is" if len(names) - len(value) == 1 else "are"
        return (f"`{name}` returned {len(value)} values, but it must return {len(names)}, "
                f"{want}: {missing} {verb} missing")
    return (f"`{name}` returned {len(value)} values, but it must return {len(names)}, "
            f"{want}")


def __documented__(fn, name, names):
    """``fn``, checked to return its documented values ``names``."""
    def call(*args, **kwargs):
        value = fn(*args, **kwargs)
        why = __missing_return__(name, names, value)
        if why:
            raise MissingReturnValue(why)
        return value
    return call
'''

_namespace: dict = {"__name__": __name__}
exec(compile(SOURCE, "<rnncourse.grading.returns>", "exec"), _namespace)
MissingReturnValue: type[AssertionError] = _namespace["MissingReturnValue"]
missing_return = _namespace["__missing_return__"]
documented = _namespace["__documented__"]


def wrap_call(call: str, returns: Mapping[str, tuple[str, ...]]) -> str:
    """``call`` with every call of a function in ``returns`` checked by ``__documented__``."""
    if not returns:
        return call
    tree = ast.parse(call, mode="eval")

    class Wrap(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            if isinstance(node.func, ast.Name) and node.func.id in returns:
                name = node.func.id
                node.func = ast.Call(ast.Name("__documented__", ast.Load()),
                                     [ast.Name(name, ast.Load()), ast.Constant(name),
                                      ast.Constant(tuple(returns[name]))], [])
            return node

    return ast.unparse(ast.fix_missing_locations(Wrap().visit(tree)))
