"""Symbolic checks: a matrix-expression identity shown entry by entry at a small size.

`explicit(expr)` replaces every matrix symbol by a matrix of real symbols, every
elementwise function by an undefined SymPy function σ applied to each entry (its k-th
derivative the function `generic_function("sigma", k)`, whose derivative is the next one),
and every unevaluated Jacobian ∂u/∂x by the entrywise Jacobian. `symbolic_equal` then asks
SymPy whether the difference simplifies to the zero matrix. Shown that way, an identity
holds for every differentiable σ at that size.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import sympy as sp
from sympy import Basic
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

__all__ = ["explicit", "exact_value", "symbolic_equal", "generic_function", "Unsupported"]


class Unsupported(Exception):
    """The expression has a node `explicit` does not know; no symbolic check is made."""


def _entries(sym: sp.MatrixSymbol) -> sp.Matrix:
    rows, cols = (int(n) for n in sym.shape)
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{sym.name}[{i},{j}]", real=True))


_SHARED: dict[tuple[Basic, tuple[Basic, ...]], Any] = {}
_SHARED_MAX = 20_000


def explicit(expr: Basic, env: dict[Basic, Any] | None = None, activation: str | None = None) -> Any:
    """expr as an explicit SymPy Matrix (or scalar) with symbolic entries.

    env maps symbols to given explicit values (missing ones get symbolic entries).
    activation=None keeps σ generic; a catalogue name binds σ (and the functions named
    in the catalogue) to their SymPy forms and derivatives, e.g. ReLU' = Heaviside(u, 0).
    """
    # a subtree is evaluated once per binding of the u of f(u); with generic symbols and σ
    # the values depend on the subtree alone, and are shared between calls (the lines of a
    # proof repeat most of their subtrees)
    generic = not env and activation is None
    given = env is not None  # the caller reads the entries of the symbols off env afterwards
    env = {} if env is None else env
    from symres.activations import ACTIVATIONS, GENERIC

    if generic and len(_SHARED) > _SHARED_MAX:
        _SHARED.clear()
    memo: dict[tuple[Basic, tuple[Basic, ...]], Any] = _SHARED if generic else {}
    scope: list[Basic] = []

    def bound(name: str) -> Any:
        if activation is None:
            return None
        return ACTIVATIONS.get(activation if name == GENERIC else name)

    def ev(e: Basic) -> Any:
        if not e.args:
            return leaf(e)
        key = (e, tuple(scope))
        if key not in memo:
            memo[key] = node(e)
        return memo[key]

    def leaf(e: Basic) -> Any:
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
        return node(e)

    def node(e: Basic) -> Any:
        if isinstance(e, (sp.MatrixSymbol, Size, sp.Symbol, sp.Number)):
            return leaf(e)
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
            return ev(e.arg).applyfunc(generic_function(e.fn, int(e.order)))
        if isinstance(e, Deriv):
            wrt = ev(e.wrt)
            if isinstance(wrt, sp.MatrixBase):
                wrt = wrt.T.reshape(wrt.rows * wrt.cols, 1) if wrt.cols != 1 else wrt  # vec: columns stacked
            u, ws = ev(e.expr), list(wrt) if isinstance(wrt, sp.MatrixBase) else [wrt]
            return sp.Matrix(len(u), len(ws), lambda i, j: _diff(u[i], ws[j]))
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
            scope.append(e.arg)
            try:
                return ev(e.definition.expr)
            finally:
                scope.pop()
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

    out = ev(expr)
    if generic and given:  # subtrees found in the shared memo did not fill env
        for sym in expr.atoms(sp.MatrixSymbol):
            env.setdefault(sym, _entries(sym))
    return out


_DIFF: dict[tuple[Basic, Basic], Basic] = {}


def _diff(e: Basic, x: Basic) -> Basic:
    """∂e/∂x for a scalar expression e and a symbol x: sum, product, power and chain rules
    on e's graph, each shared subtree differentiated once (SymPy's diff walks the tree);
    anything else is left to SymPy's diff."""
    if x not in e.free_symbols:
        return sp.Integer(0)
    if e == x:
        return sp.Integer(1)
    key = (e, x)
    if key in _DIFF:
        return _DIFF[key]
    if len(_DIFF) > _SHARED_MAX:
        _DIFF.clear()
    if isinstance(e, sp.Add):
        out = sp.Add(*(_diff(a, x) for a in e.args))
    elif isinstance(e, sp.Mul):
        args = e.args
        out = sp.Add(*(sp.Mul(*args[:i], d, *args[i + 1 :]) for i, a in enumerate(args) if (d := _diff(a, x)) != 0))
    elif isinstance(e, sp.Pow) and x not in e.exp.free_symbols:
        out = e.exp * e.base ** (e.exp - 1) * _diff(e.base, x)
    elif isinstance(e, sp.Function) and len(e.args) == 1:
        out = e.fdiff(1) * _diff(e.args[0], x)
    else:
        out = sp.diff(e, x)
    _DIFF[key] = out
    return out


@functools.cache
def generic_function(name: str, order: int = 0) -> type[sp.Function]:
    """The order-th derivative of a generic differentiable function `name`, as an undefined
    SymPy function whose derivative is the next one (σ, σ', σ'', …): SymPy's
    Subs(Derivative(σ(t), t), t, u) is equivalent but slow to build, compare and expand."""

    def fdiff(self: sp.Function, argindex: int = 1) -> sp.Expr:
        return generic_function(name, order + 1)(self.args[0])

    return type(f"{name}{chr(39) * order}" if order <= 3 else f"{name}^({order})", (sp.Function,), {"fdiff": fdiff, "nargs": 1})


#: the most operations the explicit entries of an identity with X⁻¹, det or log det may
#: hold for a symbolic check (a Jacobian through (A + x xᵀ)⁻¹ at size 2 has ~1,200, its Hessian up to ~15,000)
RATIONAL_BUDGET = 3_000


def _is_zero(cell: sp.Expr) -> bool:
    """True when SymPy shows cell = 0. First as a polynomial in the symbols with every
    applied function (σ(u), σ'(u)) read as an opaque symbol of its own, which is sound (an
    identity in independent symbols stays one under substitution); then, for X⁻¹ and 1/s,
    as a rational function with the same opaque atoms; then expand and simplify as they are."""
    if _polynomial_zero(cell):
        return True
    cell = cell.doit()
    if cell.has(sp.Pow):
        opaque = {a: sp.Dummy() for a in cell.atoms(sp.Function, sp.Subs, sp.Derivative)}
        if sp.cancel(sp.together(cell.xreplace(opaque))) == 0:
            return True
    return sp.expand(cell) == 0 or sp.simplify(cell) == 0


# A polynomial with rational coefficients as (terms, D): the integer coefficient of each
# monomial over one common denominator D. A monomial is an int holding the power of
# generator i in bits 32i … 32i + 31, so that multiplying monomials adds ints.
_Polynomial = tuple[dict[int, int], int]
_FIELD = 32
_ONE: _Polynomial = ({0: 1}, 1)


def _poly_add(p: _Polynomial, q: _Polynomial) -> _Polynomial:
    (a, da), (b, db) = p, q
    d = da * db // math.gcd(da, db)
    fa, fb = d // da, d // db
    out = {m: c * fa for m, c in a.items()} if fa != 1 else dict(a)
    for m, c in b.items():
        t = out.get(m, 0) + c * fb
        if t:
            out[m] = t
        else:
            out.pop(m, None)
    return out, d


def _poly_mul(p: _Polynomial, q: _Polynomial) -> _Polynomial:
    (a, da), (b, db) = p, q
    out: dict[int, int] = {}
    for m, c in a.items():
        for n, e in b.items():
            k = m + n
            t = out.get(k, 0) + c * e
            if t:
                out[k] = t
            else:
                out.pop(k, None)
    return out, da * db


def _polynomial_zero(cell: sp.Expr) -> bool:
    """True when cell is the zero polynomial with rational coefficients in its symbols and
    opaque atoms: an applied function, a power that is not a non-negative integer power,
    or a number that is not rational, each an atom of its own, keyed by its (canonical)
    arguments, so σ(a + b) and σ(b + a) are one atom. Shared subtrees are converted once,
    so the cost follows the expression's graph, not its printed size."""
    gens: dict[Any, int] = {}
    memo: dict[Basic, _Polynomial] = {}

    def atom(key: Any) -> _Polynomial:
        index = gens.setdefault(key, len(gens))
        return {1 << (_FIELD * index): 1}, 1

    def frozen(p: _Polynomial) -> Any:
        terms, d = p
        return frozenset((m, Fraction(c, d)) for m, c in terms.items())

    def conv(e: Basic) -> _Polynomial:
        if e in memo:
            return memo[e]
        if isinstance(e, sp.Rational):
            out: _Polynomial = ({0: int(e.p)} if e != 0 else {}, int(e.q))
        elif isinstance(e, sp.Symbol):
            out = atom(e)
        elif isinstance(e, sp.Add):
            out = ({}, 1)
            for a in e.args:
                out = _poly_add(out, conv(a))
        elif isinstance(e, sp.Mul):
            out = _ONE
            for a in e.args:
                out = _poly_mul(out, conv(a))
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and 0 <= e.exp < 1 << 10:
            out, base = _ONE, conv(e.base)
            for _ in range(int(e.exp)):
                out = _poly_mul(out, base)
        elif isinstance(e, sp.Pow):
            out = atom(("pow", frozen(conv(e.base)), e.exp))
        elif isinstance(e, sp.Function):
            out = atom((e.func, tuple(frozen(conv(a)) for a in e.args)))
        else:  # an irrational number, an unevaluated derivative, …
            out = atom(("atom", e))
        memo[e] = out
        return out

    return not conv(cell)[0]


def symbolic_equal(lhs: Basic, rhs: Basic) -> Check | None:
    """A symbolic Check that lhs = rhs entry by entry at the sizes the expressions carry,
    or None when SymPy cannot show it (unsupported node, or no simplification to 0).
    None is not a refutation: the numeric check decides then."""
    try:
        diff = explicit(lhs) - explicit(rhs)  # a symbol's entries are named after it: the same in both
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
