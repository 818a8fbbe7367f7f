"""Differentiation rules for token matrices: ∂vec(M)/∂vec(X), read off differentials.

Each rule rewrites an unevaluated `Deriv(Vec(M), X)` (X an n×d matrix symbol) in
numerator layout, vec stacking the columns; `symres.calculus` appends them to its
`RULES`, so `differentiate(Vec(Y), X)` derives a block's Jacobian ∂vec(Y)/∂vec(X):

- sum: vec(A + B) = vec(A) + vec(B);
- products: d(c F_1⋯F_k) = c Σ_i L_i dF_i R_i with vec(L dF R) = (Rᵀ ⊗ L) dvec(F)
  (L, R the factors left and right of F_i);
- transposes: vec(dMᵀ) = K_{p,q} vec(dM) for M p×q (`Commutation`);
- elementwise σ: vec(dσ(M)) = diag(vec σ'(M)) vec(dM);
- row-wise f: vec(d f(M)) = K_{k',n} (⊕_i J_f(m_i)) K_{n,k} vec(dM) for M n×k (`RowMap`),
  J_f derived from f's definition (a lemma of the proof);
- a function of a token matrix defined above (a sublayer): vec(d g(M)) = J_g(M) vec(dM)
  with J_g(U) = ∂vec(g(U))/∂vec(U) derived from g's definition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy import Basic, Lambda, MatrixExpr
from sympy.matrices.expressions import Identity, MatAdd, MatMul, Transpose, ZeroMatrix

from symres.calculus import Rule, defined_derivation, defined_jacobian, register_rules, transpose_of
from symres.errors import SymresError
from symres.expr import Abbrev, Defined, Deriv, Diag, Elementwise, Kron, Vec, add, depends_on, matmul
from symres.tokens import Commutation, RowBlocks, RowMap, sizes_of

__all__ = ["VEC_RULES", "ROW_JACOBIANS", "row_jacobian"]


def _vec_of(D: Deriv) -> Basic | None:
    """M for D = ∂vec(M)/∂x, None for any other derivative."""
    return D.expr.args[0] if isinstance(D.expr, Vec) else None


def _inner(D: Deriv) -> Any:
    """M for D = ∂vec(M)/∂x, a derivative a rule of this module has matched."""
    return D.expr.args[0]


def _is(kind: type | tuple[type, ...]) -> Callable[[Deriv], bool]:
    return lambda D: isinstance(_vec_of(D), kind)


def _dvec(m: Basic, x: Basic) -> MatrixExpr:
    """∂vec(m)/∂x, unevaluated; m = x itself gives I directly."""
    return Identity(int(x.shape[0]) * int(x.shape[1])) if m == x else Deriv(Vec(m), x)


def _product(D: Deriv) -> MatrixExpr:
    x, m = D.wrt, _inner(D)
    coeffs = [f for f in m.args if not getattr(f, "is_Matrix", False)]
    if any(depends_on(c, x) for c in coeffs):
        raise SymresError(f"a scalar factor of {m} depends on {x}: not supported for token matrices")
    c = sp.Mul(*coeffs)
    mats = [f for f in m.args if getattr(f, "is_Matrix", False)]
    terms = []
    for i, f in enumerate(mats):
        if not depends_on(f, x):
            continue
        left, right = mats[:i], mats[i + 1 :]
        lft = matmul(*left) if left else Identity(f.shape[0])
        r = transpose_of(matmul(*right)) if right else Identity(f.shape[1])
        terms.append(matmul(c, Kron(r, lft), _dvec(f, x)))
    return add(*terms) if terms else ZeroMatrix(*D.shape)


def _transpose(D: Deriv) -> MatrixExpr:
    inner = _inner(D).arg
    p, q = sizes_of(inner)
    return matmul(Commutation(p, q), _dvec(inner, D.wrt))


def _elementwise(D: Deriv) -> MatrixExpr:
    e = _inner(D)
    return matmul(Diag(Vec(Elementwise(e.args[0], e.arg, e.order + 1))), _dvec(e.arg, D.wrt))


#: closed forms of row-wise Jacobians by function name: name -> (k ↦ Lambda(u, J(u)) for u k×1);
#: the lemma of each proof shows the closed form equal to the derived one (softmax: diag(p) − p pᵀ)
ROW_JACOBIANS: dict[str, Callable[[int], Lambda]] = {}


def row_jacobian(f: RowMap) -> Lambda:
    """Lambda(u, J_f(u)) for the function f of a `RowMap`: its registered closed form, or
    the Jacobian derived from its definition."""
    build = ROW_JACOBIANS.get(f.name)
    closed = build(int(f.variable.shape[0])) if build is not None else None
    if closed is not None and closed.variables[0] == f.variable:
        return closed
    return Lambda(f.variable, defined_derivation(f.definition).result)


def _rowwise(D: Deriv) -> MatrixExpr:
    f: RowMap = _inner(D)
    n, k = sizes_of(f.arg)
    out = sizes_of(f)[1]
    blocks = RowBlocks(f.args[0], row_jacobian(f), f.arg)
    return matmul(Commutation(out, n), blocks, Commutation(n, k), _dvec(f.arg, D.wrt))


def _defined(D: Deriv) -> MatrixExpr:
    g: Defined = _inner(D)
    return matmul(defined_jacobian(g), _dvec(g.arg, D.wrt))


VEC_RULES: tuple[Rule, ...] = (
    Rule(
        "vec-identity",
        "identity",
        r"$\partial \operatorname{vec}(X)/\partial \operatorname{vec}(X) = I$",
        lambda D: _vec_of(D) is not None and _vec_of(D) == D.wrt,
        lambda D: Identity(D.shape[0]),
    ),
    Rule(
        "vec-definition",
        "definition",
        "substitute the definition of a named quantity under $\\partial$",
        _is(Abbrev),
        lambda D: Deriv(Vec(_inner(D).definition), D.wrt),
    ),
    Rule(
        "vec-sum",
        "sum rule",
        r"sum rule: $\operatorname{vec}(A + B) = \operatorname{vec}(A) + \operatorname{vec}(B)$",
        _is(MatAdd),
        lambda D: add(*(_dvec(t, D.wrt) for t in _inner(D).args)),
    ),
    Rule(
        "vec-product",
        "product rule, Kronecker form",
        r"product rule for differentials, $d(F_1 \cdots F_k) = \sum_i L_i\, dF_i\, R_i$, in vec form: "
        r"$\operatorname{vec}(L\, dF\, R) = (R^{T} \otimes L) \operatorname{vec}(dF)$",
        _is(MatMul),
        _product,
    ),
    Rule(
        "vec-transpose",
        "commutation",
        r"$\operatorname{vec}(dM^{T}) = K_{p,q} \operatorname{vec}(dM)$ for $M$ $p \times q$, "
        r"$K_{p,q}$ the commutation matrix",
        _is(Transpose),
        _transpose,
    ),
    Rule(
        "vec-chain",
        r"chain rule through $\sigma$",
        r"chain rule through the elementwise $\sigma$: $\operatorname{vec}(d\sigma(M)) = "
        r"\operatorname{diag}(\operatorname{vec} \sigma'(M)) \operatorname{vec}(dM)$",
        _is(Elementwise),
        _elementwise,
    ),
    Rule(
        "vec-rowwise",
        "row-wise chain rule",
        r"chain rule through a function $f$ applied to each row of $M$ ($n \times k$): the rows of $M$ "
        r"are the blocks of $\operatorname{vec}(M^{T}) = K_{n,k} \operatorname{vec}(M)$, so "
        r"$\operatorname{vec}(d f(M)) = K_{k',n} \left(\bigoplus_i J_f([M]_i)\right) K_{n,k} \operatorname{vec}(dM)$, "
        r"$[M]_i$ the $i$-th row as a column",
        _is(RowMap),
        _rowwise,
    ),
    Rule(
        "vec-defined",
        "chain rule through a sublayer",
        r"chain rule through a function of a token matrix defined above: $\operatorname{vec}(d g(M)) = "
        r"J_g(M) \operatorname{vec}(dM)$, $J_g(U) = \partial \operatorname{vec}(g(U))/\partial \operatorname{vec}(U)$ "
        r"derived from the definition of $g$ (lemma)",
        _is(Defined),
        _defined,
    ),
)

register_rules(*VEC_RULES)
