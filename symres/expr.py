"""The matrix-expression vocabulary of symres, on top of SymPy's matrix expressions.

SymPy provides matrix symbols, sums, products, transposes, the identity and zero
matrices and the Hadamard product. symres adds the three objects residual calculus
needs and SymPy lacks (or handles in a mixed layout):

- `Elementwise(f, u, order)`: an activation f, or its derivative of the given order,
  applied to every entry of the column vector u;
- `Diag(v)`: the diagonal matrix with the entries of the column vector v;
- `Deriv(u, x)`: the unevaluated Jacobian ∂u/∂x in numerator layout (rows index u,
  columns index x); it appears only in the intermediate lines of a derivation.

Expressions are built with `add` and `matmul` (or the `+` / `@` operators of these
classes), which keep the order in which terms and factors are written: products of
matrices do not commute, and a derivation reads best in the order it was stated.
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp
from sympy import Basic, MatrixExpr
from sympy.core.symbol import Str
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, ZeroMatrix

from symres.errors import SymresError

__all__ = [
    "Deriv",
    "Diag",
    "Elementwise",
    "add",
    "apply",
    "depends_on",
    "hadamard",
    "matmul",
    "tidy",
]


class Elementwise(MatrixExpr):  # type: ignore[misc]
    """f^{(order)}(u): the scalar function named f (or its order-th derivative) applied
    entrywise to the column vector u. The name is resolved to an `Activation` only when
    evaluating, so a derivation in terms of σ holds for every activation."""

    def __new__(cls, fn: str | Str, arg: MatrixExpr, order: int | sp.Integer = 0) -> Elementwise:
        fn = Str(fn) if isinstance(fn, str) else fn
        return MatrixExpr.__new__(cls, fn, sp.sympify(arg), sp.Integer(order))

    @property
    def fn(self) -> str:
        return str(self.args[0].name)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[1]

    @property
    def order(self) -> int:
        return int(self.args[2])

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.arg.shape  # type: ignore[no-any-return]

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        return sp.Function(self.fn)(self.arg[i, j])

    def doit(self, **hints: object) -> Elementwise:
        return self.func(self.args[0], self.arg.doit(**hints), self.args[2])


class Diag(MatrixExpr):  # type: ignore[misc]
    """diag(v): the n×n diagonal matrix whose diagonal is the column vector v (n×1)."""

    def __new__(cls, vec: MatrixExpr) -> Diag:
        vec = sp.sympify(vec)
        if vec.shape[1] != 1:
            raise SymresError(f"diag() takes a column vector, got shape {vec.shape}")
        return MatrixExpr.__new__(cls, vec)

    @property
    def vec(self) -> MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        n = self.vec.shape[0]
        return (n, n)

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        return sp.KroneckerDelta(i, j) * self.vec[i, 0]

    def _eval_transpose(self) -> Diag:
        return self

    def doit(self, **hints: object) -> Diag:
        return self.func(self.vec.doit(**hints))


class Deriv(MatrixExpr):  # type: ignore[misc]
    """∂u/∂x, unevaluated, in numerator layout: an m×d matrix for u (m×1), x (d×1)."""

    def __new__(cls, expr: MatrixExpr, wrt: MatrixExpr) -> Deriv:
        return MatrixExpr.__new__(cls, sp.sympify(expr), sp.sympify(wrt))

    @property
    def expr(self) -> MatrixExpr:
        return self.args[0]

    @property
    def wrt(self) -> MatrixExpr:
        return self.args[1]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return (self.expr.shape[0], self.wrt.shape[0])

    def doit(self, **hints: object) -> Deriv:
        return self


# --------------------------------------------------------------------------- building


def _flatten(cls: type, items: Iterable[Basic]) -> list[Basic]:
    out: list[Basic] = []
    for item in items:
        out.extend(item.args if isinstance(item, cls) else (item,))
    return out


def _same_dims(s: tuple[object, ...], t: tuple[object, ...]) -> bool:
    return all(sp.sympify(p) - sp.sympify(q) == 0 for p, q in zip(s, t))


def _check_shapes(a: Basic, b: Basic, what: str) -> None:
    if a.is_Matrix and b.is_Matrix and not _same_dims(a.shape, b.shape):
        raise SymresError(f"shape mismatch in {what}: {a.shape} and {b.shape}")


def add(*terms: Basic) -> MatrixExpr:
    """The sum of the terms in the order given, with zero matrices dropped and nested sums
    flattened. Shapes must agree."""
    items = _flatten(MatAdd, terms)
    for a, b in zip(items, items[1:]):
        _check_shapes(a, b, "a sum")
    kept = [t for t in items if not isinstance(t, ZeroMatrix)]
    if not kept:
        return items[0]
    return kept[0] if len(kept) == 1 else MatAdd(*kept)


def matmul(*factors: Basic) -> MatrixExpr:
    """The product in the order given (left to right), with identity factors dropped,
    nested products flattened, and zero absorbing. Inner dimensions must agree."""
    items = _flatten(MatMul, factors)
    mats = [f for f in items if getattr(f, "is_Matrix", False)]
    for a, b in zip(mats, mats[1:]):
        if not _same_dims(a.shape[1:], b.shape[:1]):
            raise SymresError(f"shape mismatch in a product: {a.shape} times {b.shape}")
    if any(isinstance(f, ZeroMatrix) for f in items) or any(f == 0 for f in items):
        return ZeroMatrix(mats[0].shape[0], mats[-1].shape[1])
    scalars = [f for f in items if not getattr(f, "is_Matrix", False) and f != 1]
    kept = [f for f in mats if not isinstance(f, Identity)] or mats[:1]
    if len(kept) > 1 or scalars:
        return MatMul(*scalars, *kept) if len(kept) + len(scalars) > 1 else kept[0]
    return kept[0]


def hadamard(a: MatrixExpr, b: MatrixExpr) -> MatrixExpr:
    """The entrywise product a ⊙ b of two matrices of the same shape."""
    _check_shapes(a, b, "an elementwise product")
    return HadamardProduct(a, b)


def apply(fn: str, arg: MatrixExpr, order: int = 0) -> Elementwise:
    """fn applied entrywise to the column vector arg (order > 0: its derivative)."""
    return Elementwise(fn, arg, order)


def depends_on(expr: Basic, x: Basic) -> bool:
    """True when x occurs in expr."""
    return expr == x or expr.has(x)


def tidy(expr: Basic) -> Basic:
    """Rebuild expr bottom-up through `add`/`matmul`: flatten nested sums and products,
    drop identity factors and zero terms, keep the order of everything else."""
    if not isinstance(expr, Basic) or not expr.args or isinstance(expr, (sp.MatrixSymbol, sp.Symbol)):
        return expr
    args = [tidy(a) for a in expr.args]
    if isinstance(expr, MatAdd):
        return add(*args)
    if isinstance(expr, MatMul):
        return matmul(*args)
    return expr.func(*args) if tuple(args) != expr.args else expr
