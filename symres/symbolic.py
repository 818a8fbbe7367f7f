"""Symbolic checks: a matrix-expression identity shown entry by entry at a small size.

`explicit(expr)` replaces every matrix symbol by a matrix of real symbols, every
elementwise function by an undefined SymPy function σ applied to each entry (its
derivative as Subs(dσ(t)/dt, t, u_i)), and every unevaluated Jacobian ∂u/∂x by SymPy's
entrywise Jacobian. `symbolic_equal` then asks SymPy whether the difference simplifies to
the zero matrix. Shown that way, an identity holds for every differentiable σ at that size.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy import Basic
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, OneMatrix, Transpose, ZeroMatrix

from symres.expr import (
    Abbrev,
    Defined,
    DefinedJacobian,
    Deriv,
    Det,
    Diag,
    Elementwise,
    Inv,
    Kron,
    LogDet,
    Scalar,
    Size,
    Tr,
    Vec,
    VStack,
)
from symres.proof import Check

__all__ = ["explicit", "exact_value", "symbolic_equal", "Unsupported"]


class Unsupported(Exception):
    """The expression has a node `explicit` does not know; no symbolic check is made."""


def _entries(sym: sp.MatrixSymbol) -> sp.Matrix:
    rows, cols = (int(n) for n in sym.shape)
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{sym.name}[{i},{j}]", real=True))


def explicit(expr: Basic, env: dict[Basic, Any] | None = None, activation: str | None = None) -> Any:
    """expr as an explicit SymPy Matrix (or scalar) with symbolic entries.

    env maps symbols to given explicit values (missing ones get symbolic entries).
    activation=None keeps σ generic; a catalogue name binds σ (and the functions named
    in the catalogue) to their SymPy forms and derivatives, e.g. ReLU' = Heaviside(u, 0).
    """
    env = {} if env is None else env
    from symres.activations import ACTIVATIONS, GENERIC

    def bound(name: str) -> Any:
        if activation is None:
            return None
        return ACTIVATIONS.get(activation if name == GENERIC else name)

    def ev(e: Basic) -> Any:
        if isinstance(e, sp.MatrixSymbol):
            if e not in env:
                env[e] = _entries(e)
            return env[e]
        if isinstance(e, Size):
            return sp.Integer(e.value)
        if isinstance(e, sp.Symbol):
            return env.get(e, e)
        if isinstance(e, sp.Number):
            return e
        if isinstance(e, MatAdd):
            return sum((ev(t) for t in e.args[1:]), ev(e.args[0]))
        if isinstance(e, MatMul):
            out = ev(e.args[0])
            for f in e.args[1:]:
                out = out * ev(f)
            return out
        if isinstance(e, HadamardProduct):
            out = ev(e.args[0])
            for t in e.args[1:]:
                out = out.multiply_elementwise(ev(t))
            return out
        if isinstance(e, Diag):
            return sp.diag(*ev(e.vec))
        if isinstance(e, Transpose):
            return ev(e.arg).T
        if isinstance(e, Elementwise):
            act = bound(e.fn)
            if act is not None and e.order <= 2:
                return ev(e.arg).applyfunc(act.sympy_derivative(e.order))
            f, u = sp.Function(e.fn), ev(e.arg)
            if e.order == 0:
                return u.applyfunc(f)
            t = sp.Dummy("t")
            return u.applyfunc(lambda ui: sp.Subs(sp.Derivative(f(t), (t, e.order)), t, ui))
        if isinstance(e, Deriv):
            wrt = ev(e.wrt)
            if isinstance(wrt, sp.MatrixBase):
                wrt = wrt.T.reshape(wrt.rows * wrt.cols, 1) if wrt.cols != 1 else wrt  # vec: columns stacked
            return ev(e.expr).jacobian(wrt if isinstance(wrt, sp.MatrixBase) else sp.Matrix([wrt]))
        if isinstance(e, Vec):
            m = ev(e.args[0])
            return m.T.reshape(m.rows * m.cols, 1)
        if isinstance(e, Kron):
            from sympy.physics.quantum import TensorProduct

            return TensorProduct(ev(e.args[0]), ev(e.args[1]))
        if isinstance(e, Scalar):
            return ev(e.expr)[0, 0]
        if isinstance(e, Abbrev):
            return ev(e.definition)
        if isinstance(e, (Defined, DefinedJacobian)):
            u = e.definition.variables[0]
            saved, env[u] = env.get(u), ev(e.arg)
            try:
                return ev(e.definition.expr)
            finally:
                if saved is None:
                    env.pop(u)
                else:
                    env[u] = saved
        if isinstance(e, Inv):
            m = ev(e.arg)
            return m.adjugate() / m.det()
        if isinstance(e, Tr):
            return sp.Matrix([[ev(e.arg).trace()]])
        if isinstance(e, Det):
            return sp.Matrix([[ev(e.arg).det()]])
        if isinstance(e, LogDet):
            return sp.Matrix([[sp.log(ev(e.arg).det())]])
        if isinstance(e, VStack):
            return sp.Matrix.vstack(*(ev(a) for a in e.args))
        if isinstance(e, Identity):
            return sp.eye(int(e.shape[0]))
        if isinstance(e, ZeroMatrix):
            return sp.zeros(int(e.shape[0]), int(e.shape[1]))
        if isinstance(e, OneMatrix):
            return sp.ones(int(e.shape[0]), int(e.shape[1]))
        if isinstance(e, sp.Expr) and not e.is_Matrix:
            return e.func(*(ev(a) for a in e.args)) if e.args else e
        raise Unsupported(type(e).__name__)

    return ev(expr)


#: the most operations the explicit entries of an identity with X⁻¹, det or log det may
#: hold for a symbolic check (a Jacobian through (A + x xᵀ)⁻¹ at size 2 has ~1,200, its Hessian up to ~15,000)
RATIONAL_BUDGET = 3_000


def _is_zero(cell: sp.Expr) -> bool:
    """True when SymPy shows cell = 0. First with every applied function (σ(u), σ'(u))
    read as an opaque symbol, which is sound (an identity in independent symbols stays one
    under substitution) and keeps expand polynomial; then expand and simplify as they are."""
    cell = cell.doit()
    opaque = {a: sp.Dummy() for a in cell.atoms(AppliedUndef, sp.Subs, sp.Derivative)}
    flat = cell.xreplace(opaque)
    if sp.expand(flat) == 0 or (flat.has(sp.Pow) and sp.cancel(sp.together(flat)) == 0):  # X⁻¹, 1/s: rational
        return True
    return sp.expand(cell) == 0 or sp.simplify(cell) == 0


def symbolic_equal(lhs: Basic, rhs: Basic) -> Check | None:
    """A symbolic Check that lhs = rhs entry by entry at the sizes the expressions carry,
    or None when SymPy cannot show it (unsupported node, or no simplification to 0).
    None is not a refutation: the numeric check decides then."""
    try:
        env: dict[Basic, Any] = {}
        diff = explicit(lhs, env) - explicit(rhs, env)
    except Unsupported:
        return None
    cells = diff if isinstance(diff, sp.MatrixBase) else sp.Matrix([[diff]])
    if (lhs.has(Inv, Det, LogDet) or rhs.has(Inv, Det, LogDet)) and sum(sp.count_ops(c) for c in cells) > RATIONAL_BUDGET:
        return None  # X⁻¹ spelled out as adj(X)/det(X) grows fast: the numeric check decides
    if all(_is_zero(c) for c in cells):
        shape = "×".join(str(n) for n in getattr(lhs, "shape", (1, 1)))
        return Check("symbolic", True, f"equal entry by entry at size {shape}, symbolic entries, any differentiable σ")
    return None


def exact_value(expr: Basic, values: dict[str, Any], activation: str = "relu") -> sp.Matrix:
    """expr evaluated in exact arithmetic at the given point (name → number, nested list
    or SymPy Matrix; floats are taken as the rationals they print as), σ bound to
    `activation` with its kink convention (ReLU'(0) = Heaviside(0, 0) = 0)."""
    syms = {str(s): s for s in expr.free_symbols if not isinstance(s, Size)}
    env: dict[Basic, Any] = {}
    for name, value in values.items():
        if name not in syms:
            continue
        sym = syms[name]
        if isinstance(sym, sp.MatrixSymbol):
            m = sp.Matrix(value) if not isinstance(value, sp.MatrixBase) else value
            if m.shape == (1, 1) and tuple(sym.shape) != (1, 1):
                m = m[0, 0] * sp.eye(int(sym.shape[0]))  # a number for a square matrix: c·I, as --let reads it
            env[sym] = m.applyfunc(sp.nsimplify)
        else:
            env[sym] = sp.nsimplify(sp.Matrix([value])[0, 0] if not isinstance(value, (int, float, sp.Basic)) else value)
    missing = sorted(set(syms) - set(values))
    if missing:
        from symres.errors import SymresError

        raise SymresError(f"no value for {', '.join(missing)}")
    out = explicit(expr, env, activation)
    return out.applyfunc(sp.simplify) if isinstance(out, sp.MatrixBase) else sp.simplify(out)
