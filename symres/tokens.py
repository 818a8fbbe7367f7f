"""Token matrices: the nodes a transformer block needs on top of `symres.expr`.

A token matrix X ∈ R^{n×d} holds one token a row. A block maps it to Y ∈ R^{n×d'}, and
its Jacobian is ∂vec(Y)/∂vec(X) with vec stacking the columns (DESIGN.md), printed in
Kronecker form: vec(A X B) = (Bᵀ ⊗ A) vec(X). Besides `Vec` and `Kron` (in `symres.expr`)
that needs:

- `Commutation(p, q)`: the commutation matrix K_{p,q} (pq×pq), K_{p,q} vec(A) = vec(Aᵀ)
  for A p×q, so that d vec(Aᵀ) = K_{p,q} d vec(A);
- `RowMap(f, M)`: a vector function f (softmax, LayerNorm), given as a `Defined` at its
  variable u, applied to each row of M: row i of f(M) is f(m_i)ᵀ, m_i the i-th row of M
  as a column;
- `RowBlocks(J_f, M)`: the block-diagonal matrix ⊕_i J_f(m_i) of f's Jacobian at the
  rows of M. With it the row-wise operator reads, in vec form,

      d vec(f(M)) = K_{k',n} (⊕_i J_f(m_i)) K_{n,k} d vec(M)      (M n×k, f: R^k → R^{k'}),

  since vec(Mᵀ) stacks the rows of M and K_{n,k} vec(M) = vec(Mᵀ);
- `CausalMask(n)`: the constant n×n matrix with 0 on and below the diagonal and −∞ above
  it; softmax(S + M_causal) lets token i attend to tokens j ≤ i only.

Each node prints itself (LaTeX, Unicode text) and evaluates itself in the batched NumPy
code of `symres.numeric` (the functions in `NUMPY`); sizes are printed by name (n, d,
d_k) where the vocabulary registered them with `name_sizes`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from sympy import Basic, Lambda, MatrixExpr, MatrixSymbol
from sympy.core.symbol import Str

from symres.errors import SymresError
from symres.expr import Defined, Size

__all__ = [
    "CausalMask",
    "Commutation",
    "NUMPY",
    "RowBlocks",
    "RowMap",
    "name_sizes",
    "sizes_of",
]

Array = np.ndarray

#: the printed name of each axis of a token-block symbol: (name, shape) -> (row size, column size)
_SIZE_NAMES: dict[tuple[str, tuple[int, int]], tuple[Size, Size]] = {}


def name_sizes(sym: MatrixSymbol, rows: Size, cols: Size) -> MatrixSymbol:
    """Record that sym's rows and columns are counted by the sizes `rows` and `cols`
    (e.g. X: n×d, W_Q: d×d_k), so that a commutation matrix of an expression in sym
    prints K_{n,d}, not K_{3,4}. Returns sym."""
    if (rows.value, cols.value) != tuple(int(k) for k in sym.shape):
        raise SymresError(f"{sym} is {sym.shape[0]}×{sym.shape[1]}, not {rows}×{cols}")
    _SIZE_NAMES[(str(sym.name), (rows.value, cols.value))] = (rows, cols)
    return sym


def sizes_of(e: Basic) -> tuple[Basic, Basic]:
    """The (rows, columns) of the matrix expression e as sizes: `Size` symbols where the
    symbols of e were named with `name_sizes`, integers otherwise."""
    rows, cols = (int(k) for k in e.shape)
    named = _names(e)
    if named is not None and (named[0].value, named[1].value) == (rows, cols):
        return named
    return sp.Integer(rows), sp.Integer(cols)


def _names(e: Basic) -> tuple[Size, Size] | None:
    if isinstance(e, MatrixSymbol):
        return _SIZE_NAMES.get((str(e.name), tuple(int(k) for k in e.shape)))  # type: ignore[arg-type]
    if isinstance(e, sp.Transpose):
        inner = _names(e.arg)
        return (inner[1], inner[0]) if inner else None
    if isinstance(e, sp.MatMul):
        mats = [f for f in e.args if getattr(f, "is_Matrix", False)]
        first, last = _names(mats[0]), _names(mats[-1])
        return (first[0], last[1]) if first and last else None
    if isinstance(e, CausalMask):
        return (e.size, e.size) if isinstance(e.size, Size) else None
    if isinstance(e, RowMap):  # f: R^k → R^k keeps the names of its argument's columns
        inner = _names(e.arg)
        return inner if inner and e.definition.expr.shape[0] == e.variable.shape[0] else None
    for a in getattr(e, "args", ()):
        if getattr(a, "is_Matrix", False) and tuple(a.shape) == tuple(e.shape):
            found = _names(a)
            if found is not None:
                return found
    return None


def _as_int(k: Basic) -> int:
    return k.value if isinstance(k, Size) else int(k)


class Commutation(MatrixExpr):  # type: ignore[misc]
    """K_{p,q}: the pq×pq permutation with K_{p,q} vec(A) = vec(Aᵀ) for every p×q matrix A
    (vec stacking columns); K_{p,q}ᵀ = K_{q,p} = K_{p,q}⁻¹. p and q are sizes (`Size`
    symbols print by name) or integers."""

    def __new__(cls, p: Basic | int, q: Basic | int) -> Commutation:
        return MatrixExpr.__new__(cls, sp.sympify(p), sp.sympify(q))

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        n = _as_int(self.args[0]) * _as_int(self.args[1])
        return (sp.Integer(n), sp.Integer(n))

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        p, q = (_as_int(a) for a in self.args)
        # vec(A)[j] = A[j % p, j // p] goes to vec(Aᵀ)[(j % p) q + j // p]
        return sp.Integer(1) if i == (j % p) * q + j // p else sp.Integer(0)

    def _eval_transpose(self) -> Commutation:
        return Commutation(self.args[1], self.args[0])

    def doit(self, **hints: object) -> Commutation:
        return self

    def _symres_latex(self, printer: Any) -> str:
        p, q = (printer._print(a) for a in self.args)
        return f"K_{{{p},{q}}}"

    def _symres_str(self, printer: Any) -> str:
        p, q = (printer._print(a) for a in self.args)
        return f"K_{p},{q}"

    def _numpycode(self, printer: Any) -> str:
        p, q = (_as_int(a) for a in self.args)
        return f"_commutation({p}, {q})"


def commutation_matrix(p: int, q: int) -> Array:
    """K_{p,q} as a NumPy array: K vec(A) = vec(Aᵀ) for A p×q, vec stacking columns."""
    k = np.zeros((p * q, p * q))
    for j in range(p * q):
        k[(j % p) * q + j // p, j] = 1.0
    return k


class _RowNode(MatrixExpr):  # type: ignore[misc]
    """args: (name, Lambda(u, body), M): a function of a column u applied to the rows of M."""

    @property
    def name(self) -> str:
        return str(self.args[0].name)

    @property
    def definition(self) -> Lambda:
        return self.args[1]

    @property
    def variable(self) -> MatrixSymbol:
        return self.definition.variables[0]

    @property
    def arg(self) -> MatrixExpr:
        return self.args[2]

    #: the argument the printers may name (u₁ := …) when it is long and recurs
    @property
    def named_argument(self) -> MatrixExpr:
        return self.arg

    def doit(self, **hints: object) -> _RowNode:
        return self

    def _function_latex(self, printer: Any) -> str:
        base, _, sub = self.name.partition("_")
        return rf"\operatorname{{{base}}}" + (f"_{{{sub}}}" if sub else "")

    def _function_text(self) -> str:
        from symres.render import text

        return text(sp.Symbol(self.name))


def _check_rows(name: str, u: MatrixSymbol, m: MatrixExpr) -> None:
    if u.shape[1] != 1 or int(u.shape[0]) != int(m.shape[1]):
        raise SymresError(f"{name} acts on rows of length {u.shape[0]}, got a {m.shape[0]}×{m.shape[1]} matrix")


class RowMap(_RowNode):
    """f(M) row by row: row i of the result is f(m_i)ᵀ, with m_i the i-th row of M (n×k) as
    a column and f: R^k → R^{k'} a vector function given as a `Defined` at its variable."""

    def __new__(cls, name: str | Str, definition: Lambda, m: MatrixExpr) -> RowMap:
        name = Str(name) if isinstance(name, str) else name
        m = sp.sympify(m)
        _check_rows(str(name.name), definition.variables[0], m)
        if definition.expr.shape[1] != 1:
            raise SymresError(f"{name.name} must map a column to a column to act on rows")
        return MatrixExpr.__new__(cls, name, definition, m)

    @classmethod
    def of(cls, fn: Defined, m: MatrixExpr) -> RowMap:
        """fn (a `Defined`, at any argument) applied to each row of m."""
        return cls(fn.args[0], fn.definition, m)

    @property
    def function(self) -> Defined:
        """f at its own variable u, as `Defined`."""
        return Defined(self.args[0], self.variable, self.definition)

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return (self.arg.shape[0], self.definition.expr.shape[0])

    def _symres_latex(self, printer: Any) -> str:
        return rf"{self._function_latex(printer)}\left({printer._print(self.arg)}\right)"

    def _symres_str(self, printer: Any) -> str:
        return f"{self._function_text()}({printer._print(self.arg)})"

    def _numpycode(self, printer: Any) -> str:
        u = printer._print(self.variable)
        return f"_rowmap((lambda {u}: {printer._print(self.definition.expr)}), {printer._print(self.arg)})"


class RowBlocks(_RowNode):
    """⊕_i J_f(m_i): the block-diagonal matrix whose i-th block is J_f (given as
    `Lambda(u, J_f(u))`, k'×k) at the i-th row m_i of M (n×k); nk'×nk."""

    def __new__(cls, name: str | Str, jacobian: Lambda, m: MatrixExpr) -> RowBlocks:
        name = Str(name) if isinstance(name, str) else name
        m = sp.sympify(m)
        _check_rows(str(name.name), jacobian.variables[0], m)
        return MatrixExpr.__new__(cls, name, jacobian, m)

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        n = int(self.arg.shape[0])
        rows, cols = (int(k) for k in self.definition.expr.shape)
        return (sp.Integer(n * rows), sp.Integer(n * cols))

    def _symres_latex(self, printer: Any) -> str:
        n = printer._print(sizes_of(self.arg)[0])
        return (
            rf"\bigoplus_{{i=1}}^{{{n}}} J_{{{self._function_latex(printer)}}}"
            rf"\left(\left[{printer._print(self.arg)}\right]_{{i}}\right)"
        )

    def _symres_str(self, printer: Any) -> str:
        return f"⊕ᵢ J_{self._function_text()}([{printer._print(self.arg)}]ᵢ)"

    def _numpycode(self, printer: Any) -> str:
        u = printer._print(self.variable)
        return f"_rowblocks((lambda {u}: {printer._print(self.definition.expr)}), {printer._print(self.arg)})"


class CausalMask(MatrixExpr):  # type: ignore[misc]
    """M_causal (n×n): 0 where j ≤ i, −∞ where j > i; softmax(S + M_causal) puts no weight
    on later tokens. A constant: its derivative is zero."""

    def __new__(cls, size: Basic | int) -> CausalMask:
        return MatrixExpr.__new__(cls, sp.sympify(size))

    @property
    def size(self) -> Basic:
        return self.args[0]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        n = sp.Integer(_as_int(self.size))
        return (n, n)

    @property
    def free_symbols(self) -> set[Basic]:
        return set()

    def doit(self, **hints: object) -> CausalMask:
        return self

    def _symres_latex(self, printer: Any) -> str:
        return r"M_{\mathrm{causal}}"

    def _symres_str(self, printer: Any) -> str:
        return "M_causal"

    def _numpycode(self, printer: Any) -> str:
        return f"_causal({_as_int(self.size)})"


# --------------------------------------------------------------------------- NumPy


def _rows(m: Array) -> Array:
    """The rows of the batched m (N, n, k) as columns on a new leading axis: (n, N, k, 1),
    which broadcasts against the batched symbols (N, …) of a function's body."""
    return np.moveaxis(np.asarray(m, dtype=float), -2, 0)[..., None]


def _rowmap(f: Callable[[Array], Array], m: Array) -> Array:
    """f on each row of the batched m (N, n, k), all rows in one call: (N, n, k')."""
    rows = _rows(m)
    out = np.asarray(f(rows), dtype=float)
    out = np.broadcast_to(out, (*rows.shape[:-2], *out.shape[-2:]))  # (n, N, k', 1)
    return np.moveaxis(out[..., 0], 0, -2)


def _rowblocks(jac: Callable[[Array], Array], m: Array) -> Array:
    """⊕_i J(m_i) for the batched m (N, n, k): block-diagonal (N, n k', n k)."""
    rows = _rows(m)
    blocks = np.asarray(jac(rows), dtype=float)
    blocks = np.broadcast_to(blocks, (*rows.shape[:-2], *blocks.shape[-2:]))
    n, (r, c) = blocks.shape[0], blocks.shape[-2:]
    out = np.zeros((*blocks.shape[1:-2], n * r, n * c))
    for i in range(n):
        out[..., i * r : (i + 1) * r, i * c : (i + 1) * c] = blocks[i]
    return out


#: −∞ of the causal mask in the NumPy code: exp of it is 0, and finite differences of
#: S + M_causal stay finite (−10³⁰⁰ ± h − (−10³⁰⁰) = 0, where −∞ would give ∞ − ∞)
MASKED = -1e300


def _causal(n: int) -> Array:
    return np.where(np.tril(np.ones((n, n))) > 0, 0.0, MASKED)


#: the names the NumPy code of these nodes calls (merged into `symres.numeric`'s namespace)
NUMPY: dict[str, Any] = {
    "_commutation": commutation_matrix,
    "_rowmap": _rowmap,
    "_rowblocks": _rowblocks,
    "_causal": _causal,
}
