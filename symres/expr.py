"""The matrix-expression vocabulary of symres, on top of SymPy's matrix expressions.

SymPy provides matrix symbols, sums, products, transposes, the identity and zero
matrices and the Hadamard product. symres adds the three objects residual calculus
needs and SymPy lacks (or handles in a mixed layout):

- `Elementwise(f, u, order)`: an activation f, or its derivative of the given order,
  applied to every entry of the column vector u;
- `Diag(v)`: the diagonal matrix with the entries of the column vector v;
- `Deriv(u, x)`: the unevaluated Jacobian ∂u/∂x in numerator layout (rows index u,
  columns index x); it appears only in the intermediate lines of a derivation.

and, for normalisation layers and concatenations:

- `Scalar(s)`: a 1×1 matrix expression s read as a scalar, so that it can multiply a
  matrix of any shape (s c for a vector c); SymPy's `OneMatrix(n, 1)` is the ones vector
  𝟙 and `Transpose` gives inner products aᵀb (1×1);
- `Abbrev(name, e)`: a named intermediate quantity (LayerNorm's mean μ, centred c,
  variance v), printed by its name and evaluated as its definition;
- `Defined(f, a, Lambda(u, body))`: a vector function f, defined once by its body in u,
  applied to a; `DefinedJacobian(f, a, Lambda(u, J))` is J_f(a), its Jacobian at a;
- `VStack(a, b, …)`: the vertical concatenation [a; b; …].

Expressions are built with `add` and `matmul`, which keep the order in which terms and
factors are written: products of matrices do not commute, and a derivation reads best
in the order it was stated. `Term` wraps an expression so that `+ - * @` do the same
(SymPy's own operators call `doit`, which sorts the terms of a sum).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sympy as sp
from sympy import Basic, Lambda, MatrixExpr
from sympy.core.symbol import Str
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, OneMatrix, Transpose, ZeroMatrix

from symres.errors import SymresError

__all__ = [
    "Abbrev",
    "Defined",
    "DefinedJacobian",
    "Deriv",
    "Diag",
    "Elementwise",
    "Kron",
    "Scalar",
    "Vec",
    "ShapeError",
    "Size",
    "sizes_to_values",
    "Term",
    "VStack",
    "add",
    "apply",
    "depends_on",
    "hadamard",
    "matmul",
    "ones",
    "tidy",
    "transpose",
    "unwrap",
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
        wrt = self.wrt
        if not getattr(wrt, "is_Matrix", False):  # a scalar: ∂u/∂α is a column
            return (self.expr.shape[0], sp.Integer(1))
        return (self.expr.shape[0], wrt.shape[0] * wrt.shape[1])  # a matrix: ∂u/∂vec(W)

    def doit(self, **hints: object) -> Deriv:
        return self


class Vec(MatrixExpr):  # type: ignore[misc]
    """vec(M): the columns of the p×q matrix M stacked into one pq×1 column."""

    def __new__(cls, m: MatrixExpr) -> Vec:
        return MatrixExpr.__new__(cls, sp.sympify(m))

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        m = self.args[0]
        return (m.shape[0] * m.shape[1], sp.Integer(1))

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        m = self.args[0]
        return m[i % m.shape[0], i // m.shape[0]]

    def doit(self, **hints: object) -> Vec:
        return self.func(self.args[0].doit(**hints))

    def _symres_latex(self, printer: Any) -> str:
        return rf"\operatorname{{vec}}\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"vec({printer._print(self.args[0])})"


class Kron(MatrixExpr):  # type: ignore[misc]
    """A ⊗ B, the Kronecker product: (A ⊗ B)_{(i,k),(j,l)} = A_ij B_kl, so that
    vec(B X Aᵀ) = (A ⊗ B) vec(X) with vec stacking the columns."""

    def __new__(cls, a: MatrixExpr, b: MatrixExpr) -> Kron:
        return MatrixExpr.__new__(cls, sp.sympify(a), sp.sympify(b))

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        a, b = self.args
        return (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1])

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        a, b = self.args
        p, q = b.shape
        return a[i // p, j // q] * b[i % p, j % q]

    def doit(self, **hints: object) -> Kron:
        return self.func(*(a.doit(**hints) for a in self.args))

    def _symres_latex(self, printer: Any) -> str:
        a, b = (printer.parenthesize(t, 60) if isinstance(t, (MatAdd, MatMul)) else printer._print(t) for t in self.args)
        return rf"\left({a} \otimes {b}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"({printer._print(self.args[0])} ⊗ {printer._print(self.args[1])})"


class Scalar(sp.Expr):  # type: ignore[misc]
    """The 1×1 matrix expression s read as a scalar: `Scalar(s) A` is s₁₁·A for A of any
    shape (as a matrix product, s A is defined only when A has one row)."""

    is_commutative = True
    is_real = True

    def __new__(cls, expr: MatrixExpr) -> Scalar:
        expr = sp.sympify(expr)
        if tuple(expr.shape) != (1, 1):
            raise SymresError(f"Scalar() takes a 1×1 matrix expression, got shape {expr.shape}")
        return sp.Expr.__new__(cls, expr)

    @property
    def expr(self) -> MatrixExpr:
        return self.args[0]

    def doit(self, **hints: object) -> Scalar:
        return self.func(self.expr.doit(**hints))


class Size(sp.Symbol):  # type: ignore[misc]
    """A size (d, m, n) printed by its name and evaluated at its value: a proof reads
    1/d, the numeric and symbolic checks use the size they are run at."""

    is_integer = True
    is_positive = True

    def __new__(cls, name: str, value: int) -> Size:
        obj = sp.Symbol.__xnew__(cls, name, integer=True, positive=True)  # uncached: the value is ours
        obj._value = int(value)
        return obj  # type: ignore[no-any-return]

    def __getnewargs_ex__(self) -> tuple[tuple[str, int], dict[str, Any]]:
        return ((self.name, self._value), {})

    @property
    def value(self) -> int:
        return int(self._value)

    @property
    def free_symbols(self) -> set[Basic]:
        return set()  # a known constant, not a symbol to give a value for

    def _hashable_content(self) -> tuple[Any, ...]:
        return (*super()._hashable_content(), self._value)


@functools.lru_cache(maxsize=1024)  # the lines of a proof are evaluated more than once
def sizes_to_values(expr: Basic) -> Basic:
    """expr with every `Size` replaced by its value (for evaluation). Each shared subtree
    is visited once (a derivative's expression repeats its subtrees many times)."""
    if not isinstance(expr, Basic):
        return expr
    memo: dict[Basic, Basic] = {}

    def walk(e: Basic) -> Basic:
        if isinstance(e, Size):
            return sp.Integer(e.value)
        if not e.args:
            return e
        if e in memo:
            return memo[e]
        args = [walk(a) for a in e.args]
        out = e.func(*args) if any(a is not b for a, b in zip(args, e.args)) else e
        memo[e] = out
        return out

    return walk(expr)


class Abbrev(MatrixExpr):  # type: ignore[misc]
    """A named quantity, e.g. c = u − 𝟙μ: printed as its name, evaluated as its definition."""

    def __new__(cls, name: str | Str, definition: MatrixExpr) -> Abbrev:
        name = Str(name) if isinstance(name, str) else name
        return MatrixExpr.__new__(cls, name, sp.sympify(definition))

    @property
    def name(self) -> str:
        return str(self.args[0].name)

    @property
    def definition(self) -> MatrixExpr:
        return self.args[1]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.definition.shape  # type: ignore[no-any-return]

    def doit(self, **hints: object) -> Abbrev:
        return self


class _Applied(MatrixExpr):  # type: ignore[misc]
    """A named function given by `Lambda(u, expr)`, applied to a: args (name, a, Lambda)."""

    @property
    def name(self) -> str:
        return str(self.args[0].name)

    @property
    def arg(self) -> MatrixExpr:
        return self.args[1]

    @property
    def definition(self) -> Lambda:
        return self.args[2]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.definition.expr.shape  # type: ignore[no-any-return]

    def doit(self, **hints: object) -> _Applied:
        return self


class Defined(_Applied):
    """f(a) for a vector function f defined by `Lambda(u, body)` (body m×1 in u n×1)."""

    def __new__(cls, name: str | Str, arg: MatrixExpr, definition: Lambda) -> Defined:
        name = Str(name) if isinstance(name, str) else name
        arg = sp.sympify(arg)
        (u,) = definition.variables
        if not isinstance(u, sp.MatrixSymbol):  # e.g. Lambda(u, u), which SymPy turns into a scalar identity
            raise SymresError(f"{name.name} must be defined by Lambda(u, body) with u a column-vector symbol, got {definition}")
        if not _same_dims(u.shape, arg.shape):
            raise ShapeError(f"shape mismatch: {name.name} takes a {u.shape[0]}×1 vector, got shape {arg.shape}", u, arg)
        return MatrixExpr.__new__(cls, name, arg, definition)

    @property
    def variable(self) -> sp.MatrixSymbol:
        return self.definition.variables[0]

    @property
    def body(self) -> MatrixExpr:
        return self.definition.expr


class DefinedJacobian(_Applied):
    """J_f(a) = ∂f/∂u at u = a (numerator layout), given as `Lambda(u, J)` with J derived
    from f's definition by `symres.calculus`."""

    def __new__(cls, name: str | Str, arg: MatrixExpr, jacobian: Lambda) -> DefinedJacobian:
        name = Str(name) if isinstance(name, str) else name
        return MatrixExpr.__new__(cls, name, sp.sympify(arg), jacobian)


class VStack(MatrixExpr):  # type: ignore[misc]
    """[a; b; …]: the blocks stacked vertically (all with the same number of columns)."""

    def __new__(cls, *parts: MatrixExpr) -> VStack:
        parts = tuple(sp.sympify(p) for p in parts)
        if len(parts) < 2:
            raise SymresError("a concatenation takes at least two blocks")
        for a in parts[1:]:
            if not _same_dims(a.shape[1:], parts[0].shape[1:]):
                raise ShapeError(f"shape mismatch in a concatenation: {parts[0].shape} and {a.shape}", parts[0], a)
        return MatrixExpr.__new__(cls, *parts)

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return (sp.Add(*(p.shape[0] for p in self.args)), self.args[0].shape[1])

    def doit(self, **hints: object) -> VStack:
        return self.func(*(p.doit(**hints) for p in self.args))


def _symres_notation(*classes: type) -> None:
    """SymPy's own printers (str(), repr(), Jupyter's LaTeX) show the symres nodes in
    symres notation (σ'(W₁ x), diag(·), ∂u/∂x), never their class names."""

    def sympystr(self: Any, printer: Any) -> str:
        from symres.render import text

        return text(self)

    def latex_hook(self: Any, printer: Any) -> str:
        from symres.latex import latex

        return latex(self)

    for cls in classes:
        cls._sympystr = sympystr  # type: ignore[attr-defined]
        cls._latex = latex_hook  # type: ignore[attr-defined]


_symres_notation(Elementwise, Diag, Deriv, Scalar, Abbrev, Defined, DefinedJacobian, VStack)


class ShapeError(SymresError):
    """Two operands whose shapes do not fit; `operands` keeps them for a better message."""

    def __init__(self, message: str, *operands: Basic) -> None:
        super().__init__(message)
        self.operands = operands


# --------------------------------------------------------------------------- building


def _flatten(cls: type, items: Iterable[Basic]) -> list[Basic]:
    out: list[Basic] = []
    for item in items:
        out.extend(item.args if isinstance(item, cls) else (item,))  # type: ignore[attr-defined]
    return out


def _same_dims(s: tuple[object, ...], t: tuple[object, ...]) -> bool:
    for p, q in zip(s, t):
        if p == q:
            continue
        a, b = sp.sympify(p), sp.sympify(q)
        if (a.is_Integer and b.is_Integer) or a - b != 0:
            return False
    return True


def _check_shapes(a: Basic, b: Basic, what: str) -> None:
    if a.is_Matrix and b.is_Matrix and not _same_dims(a.shape, b.shape):
        raise ShapeError(f"shape mismatch in {what}: {a.shape} and {b.shape}", a, b)


def unwrap(item: Any) -> Any:
    """The SymPy object of a `Term` (other objects are returned unchanged)."""
    return item.expr if isinstance(item, Term) else item


def _basic(item: Any) -> Basic:
    out: Basic = sp.sympify(unwrap(item))
    return out


def add(*terms: Basic) -> MatrixExpr:
    """The sum of the terms in the order given, with zero matrices dropped and nested sums
    flattened. Shapes must agree."""
    items = _flatten(MatAdd, [_basic(t) for t in terms])
    for a, b in zip(items, items[1:]):
        _check_shapes(a, b, "a sum")
    kept = [t for t in items if not isinstance(t, ZeroMatrix)]
    if not kept:
        return items[0]
    return kept[0] if len(kept) == 1 else MatAdd(*kept)


def matmul(*factors: Basic) -> MatrixExpr:
    """The product in the order given (left to right), with identity factors dropped,
    nested products flattened, and zero absorbing. Inner dimensions must agree."""
    items = _flatten(MatMul, [_basic(f) for f in factors])
    mats = [f for f in items if getattr(f, "is_Matrix", False)]
    for a, b in zip(mats, mats[1:]):
        if not _same_dims(a.shape[1:], b.shape[:1]):
            raise ShapeError(f"shape mismatch in a product: {a.shape} times {b.shape}", a, b)
    if any(isinstance(f, ZeroMatrix) for f in items) or any(f == 0 for f in items):
        return ZeroMatrix(mats[0].shape[0], mats[-1].shape[1])
    scalars = [f for f in items if not getattr(f, "is_Matrix", False) and f != 1]
    kept = [f for f in mats if not isinstance(f, Identity)] or mats[:1]
    if len(kept) > 1 or scalars:
        return MatMul(*scalars, *kept) if len(kept) + len(scalars) > 1 else kept[0]
    return kept[0]


def hadamard(a: MatrixExpr, b: MatrixExpr) -> MatrixExpr:
    """The entrywise product a ⊙ b of two matrices of the same shape."""
    a, b = unwrap(a), unwrap(b)
    _check_shapes(a, b, "an elementwise product")
    return HadamardProduct(a, b)


def ones(n: int | sp.Expr) -> OneMatrix:
    """The ones vector 𝟙 (n×1)."""
    return OneMatrix(n, 1)


def transpose(a: MatrixExpr) -> Transpose:
    """aᵀ, unevaluated (SymPy's `.T` would simplify it)."""
    return Transpose(unwrap(a))


def apply(fn: str, arg: MatrixExpr, order: int = 0) -> Elementwise:
    """fn applied entrywise to the column vector arg (order > 0: its derivative)."""
    return Elementwise(fn, unwrap(arg), order)


def depends_on(expr: Basic, x: Basic) -> bool:
    """True when x occurs in expr."""
    return expr == x or expr.has(x)


@functools.lru_cache(maxsize=1 << 16)  # a derivation tidies the same subtrees at every step
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


# --------------------------------------------------------------------------- operators


def _is_scalar(e: Basic) -> bool:
    return not getattr(e, "is_Matrix", False)


def _is_1x1(e: Basic) -> bool:
    return bool(getattr(e, "is_Matrix", False)) and _same_dims(e.shape, (1, 1))


class Term:
    """An expression that combines with `+ - * / @` in the written order.

    `a + b` and `a - b` are sums, `A @ b` is the matrix product, `a * b` the elementwise
    product of two matrices of one shape, or a scalar times a matrix (a number, a scalar
    symbol, or a 1×1 matrix read as a scalar); `c - a` for a number c and a vector a is
    c𝟙 − a; `a.T` is the transpose. The SymPy object is `term.expr`. A Term deliberately
    has no `_sympy_`: a SymPy object on the left of an operator then defers to the Term
    instead of building (and `doit`-ing) a SymPy expression of its own.
    """

    __slots__ = ("expr",)
    __array_priority__ = 100  # numbers on the left defer to us

    def __init__(self, expr: Any) -> None:
        self.expr: Basic = sp.sympify(unwrap(expr))

    @property
    def shape(self) -> tuple[Any, ...]:
        return tuple(self.expr.shape) if self.expr.is_Matrix else ()

    @property
    def T(self) -> Term:
        return Term(transpose(self.expr))

    def _lift(self, other: Any) -> Basic:
        """other as an expression fit to add to self: a number c next to a matrix is c𝟙."""
        o = sp.sympify(unwrap(other))
        if self.expr.is_Matrix and _is_scalar(o):
            if not o.is_Number:
                raise SymresError(f"cannot add the scalar {o} to a matrix; write it as {o} * ones")
            base = OneMatrix(*self.expr.shape)
            return base if o == 1 else matmul(o, base)
        if o.is_Matrix and _is_scalar(self.expr):
            raise SymresError(f"cannot add the scalar {self.expr} to a matrix")
        return o

    def __add__(self, other: Any) -> Term:
        o = self._lift(other)
        return Term(add(self.expr, o) if self.expr.is_Matrix else self.expr + o)

    def __radd__(self, other: Any) -> Term:
        o = self._lift(other)
        return Term(add(o, self.expr) if self.expr.is_Matrix else o + self.expr)

    def __neg__(self) -> Term:
        return Term(matmul(-1, self.expr) if self.expr.is_Matrix else -self.expr)

    def __sub__(self, other: Any) -> Term:
        return self + (-Term(self._lift(other)))

    def __rsub__(self, other: Any) -> Term:
        return Term(self._lift(other)) + (-self)

    def __matmul__(self, other: Any) -> Term:
        return Term(matmul(self.expr, unwrap(other)))

    def __rmatmul__(self, other: Any) -> Term:
        return Term(matmul(unwrap(other), self.expr))

    def __mul__(self, other: Any) -> Term:
        return Term(_times(self.expr, sp.sympify(unwrap(other))))

    def __rmul__(self, other: Any) -> Term:
        return Term(_times(sp.sympify(unwrap(other)), self.expr))

    def __truediv__(self, other: Any) -> Term:
        o = sp.sympify(unwrap(other))
        if not _is_scalar(o):
            raise SymresError(f"can divide only by a scalar, not by the {o.shape[0]}×{o.shape[1]} matrix {o}")
        return Term(matmul(1 / o, self.expr) if self.expr.is_Matrix else self.expr / o)

    def __repr__(self) -> str:
        from symres.render import text

        return f"Term({text(self.expr)})"


def _times(a: Basic, b: Basic) -> Basic:
    """a * b: scalar product, 1×1-as-scalar product, or the elementwise product."""
    if _is_scalar(a) and _is_scalar(b):
        return a * b
    if _is_scalar(a) or _is_scalar(b):
        return matmul(a, b) if _is_scalar(a) else matmul(b, a)
    if _is_1x1(a) and not _is_1x1(b):
        return matmul(Scalar(a), b)
    if _is_1x1(b) and not _is_1x1(a):
        return matmul(Scalar(b), a)
    return hadamard(a, b)
