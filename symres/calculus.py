"""Jacobians in numerator layout, derived rule by rule.

`differentiate(expr, x)` starts from the unevaluated ∂expr/∂x and rewrites it with one
rule at a time until no `Deriv` is left. Each rule is a small object that knows when it
applies, what it produces and the reason a reader is given; every rewrite is kept as a
`RuleStep`, so a derivation can be printed and checked line by line.

Convention: (∂u/∂x)_ij = ∂u_i/∂x_j, so u (m×1) and x (d×1) give an m×d Jacobian and
the chain rule reads ∂u(v(x))/∂x = (∂u/∂v)(∂v/∂x), outer factor on the left.
SymPy's own `MatrixExpr.diff` mixes layouts (see tests/test_calculus.py); it is not used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy import Basic, Lambda, MatrixExpr, MatrixSymbol
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, OneMatrix, Transpose, ZeroMatrix

from symres.errors import SymresError
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
    Tr,
    Vec,
    VStack,
    _Applied,
    add,
    depends_on,
    matmul,
    tidy,
)

__all__ = [
    "Rule",
    "RULES",
    "RuleStep",
    "Derivation",
    "defined_derivation",
    "defined_jacobian",
    "differentiate",
    "jacobian",
    "shortcut_term",
    "collect_terms",
    "transpose_of",
    "scalar_derivative",
    "COLLECT",
    "gradient_from_row",
    "monomials",
]


@dataclass(frozen=True)
class Rule:
    """One differentiation rule: `matches(D)` says whether it rewrites the unevaluated
    derivative D = Deriv(u, x), and `rewrite(D)` returns the equal expression."""

    name: str
    short: str  # a few words for the margin of a proof line
    reason: str  # a sentence; inline mathematics between $…$
    matches: Callable[[Deriv], bool]
    rewrite: Callable[[Deriv], MatrixExpr]


def _const(D: Deriv) -> bool:
    return not depends_on(D.expr, D.wrt)


def _linear_split(u: MatMul, x: Basic) -> tuple[list[Basic], Basic] | None:
    """For u = c·A_1⋯A_k·v with only v depending on x, return ([c, A_1..A_k], v)."""
    *head, last = u.args
    if any(depends_on(f, x) for f in head) or not depends_on(last, x):
        return None
    return list(head), last


def _diag_product(u: MatMul, x: Basic) -> tuple[list[Basic], Basic, Basic] | None:
    """For u = c·A_1⋯A_k·diag(a)·v with a and v depending on x (and nothing before),
    return ([c, A_1..A_k], a, v): diag(a) v is the entrywise product a ⊙ v."""
    args = u.args
    if len(args) < 2 or not isinstance(args[-2], Diag):
        return None
    head = list(args[:-2])
    if any(depends_on(f, x) for f in head):
        return None
    return head, args[-2].vec, args[-1]


def _product_rule(head: list[Basic], a: MatrixExpr, b: MatrixExpr, x: Basic) -> MatrixExpr:
    # ∂(a ⊙ b)/∂x = diag(b) ∂a/∂x + diag(a) ∂b/∂x   (a, b column vectors)
    terms = []
    if depends_on(a, x):
        terms.append(matmul(Diag(b), Deriv(a, x)))
    if depends_on(b, x):
        terms.append(matmul(Diag(a), Deriv(b, x)))
    return matmul(*head, add(*terms)) if head else add(*terms)


def _rewrite_product(D: Deriv) -> MatrixExpr:
    if isinstance(D.expr, HadamardProduct):
        return _product_rule([], *_hadamard_pair(D.expr), D.wrt)
    split = _diag_product(D.expr, D.wrt)
    assert split is not None  # the rule matched
    head, a, b = split
    return _product_rule(head, a, b, D.wrt)


def _hadamard_pair(u: HadamardProduct) -> tuple[MatrixExpr, MatrixExpr]:
    first, *rest = u.args
    return first, (rest[0] if len(rest) == 1 else HadamardProduct(*rest))


def _is_1x1(e: Basic) -> bool:
    return bool(getattr(e, "is_Matrix", False)) and tuple(e.shape) == (1, 1)


def _inner_split(u: Basic, x: Basic) -> tuple[list[Basic], MatrixExpr, MatrixExpr] | None:
    """For u = c·A_1⋯A_k·aᵀ·b (a, b column vectors, nothing before aᵀ depending on x,
    a or b depending on x), return ([c, A_1..A_k], a, b)."""
    if not isinstance(u, MatMul) or len(u.args) < 2 or not isinstance(u.args[-2], Transpose):
        return None
    head, a, b = list(u.args[:-2]), u.args[-2].arg, u.args[-1]
    if a.shape[1] != 1 or b.shape[1] != 1 or any(depends_on(f, x) for f in head):
        return None
    return (head, a, b) if depends_on(a, x) or depends_on(b, x) else None


def _scalar_split(u: Basic, x: Basic) -> tuple[MatrixExpr, MatrixExpr] | None:
    """For u = s·M with s a 1×1 expression of x (a `Scalar` factor, or trailing factors
    whose product is 1×1 after a column vector, as in x (xᵀx)), return (s, M) with M the
    column vector of the rest."""
    if not isinstance(u, MatMul):
        return None
    args = list(u.args)
    for i, f in enumerate(args):
        if isinstance(f, Scalar) and depends_on(f, x):
            return f.expr, matmul(*args[:i], *args[i + 1 :])
    # a column times a 1×1 product: H·(aᵀb), H·s, … split where the rest is 1×1
    mats = [i for i, f in enumerate(args) if getattr(f, "is_Matrix", False)]
    for k in mats[1:]:
        left, right = args[:k], args[k:]
        rows, cols = right[0].shape[0], right[-1].shape[1]
        if rows == 1 and cols == 1 and args[mats[mats.index(k) - 1]].shape[1] == 1:
            return matmul(*right), matmul(*left)
    return None


def _scalar_product(s: MatrixExpr, M: MatrixExpr, x: Basic) -> MatrixExpr:
    # ∂(s M)/∂x = M ∂s/∂x + s ∂M/∂x   (s 1×1, M a column vector; M ∂s/∂x is an outer product)
    terms = []
    if depends_on(s, x):
        terms.append(matmul(M, Deriv(s, x)))
    if depends_on(M, x):
        terms.append(matmul(Scalar(s), Deriv(M, x)))
    return add(*terms)


def _inner_product(head: list[Basic], a: MatrixExpr, b: MatrixExpr, x: Basic) -> MatrixExpr:
    # ∂(aᵀb)/∂x = bᵀ ∂a/∂x + aᵀ ∂b/∂x   (a 1×d row each)
    terms = []
    if depends_on(a, x):
        terms.append(matmul(Transpose(b), Deriv(a, x)))
    if depends_on(b, x):
        terms.append(matmul(Transpose(a), Deriv(b, x)))
    return matmul(*head, add(*terms)) if head else add(*terms)


def _inner_rewrite(D: Deriv) -> MatrixExpr:
    split = _inner_split(D.expr, D.wrt)
    if split is None:
        raise SymresError(f"the inner-product rule does not apply to {D.expr}")
    return _inner_product(*split, D.wrt)


def _scalar_rewrite(D: Deriv) -> MatrixExpr:
    split = _scalar_split(D.expr, D.wrt)
    if split is None:
        raise SymresError(f"the scalar product rule does not apply to {D.expr}")
    return _scalar_product(*split, D.wrt)


def transpose_of(e: Basic) -> Basic:
    """eᵀ with the transpose pushed inside: (AB)ᵀ = BᵀAᵀ, (A + B)ᵀ = Aᵀ + Bᵀ, (Aᵀ)ᵀ = A,
    diag(a)ᵀ = diag(a), sᵀ = s for a 1×1 s; a symbol or a column stays Aᵀ."""
    if not getattr(e, "is_Matrix", False):
        return e
    if isinstance(e, Transpose):
        return e.arg
    if isinstance(e, (Diag, Identity)) or _is_1x1(e) or isinstance(e, Scalar):
        return e
    if isinstance(e, ZeroMatrix):
        return ZeroMatrix(e.shape[1], e.shape[0])
    if isinstance(e, Inv):
        return Inv(transpose_of(e.arg))
    if isinstance(e, MatMul):
        return matmul(*(transpose_of(f) for f in reversed(e.args)))
    if isinstance(e, MatAdd):
        return add(*(transpose_of(t) for t in e.args))
    return Transpose(e)


def _needs_push(e: Basic, x: Basic) -> bool:
    """e is a transpose that the product rule cannot use as it stands: the transpose of
    anything but a column vector (or of a 1×1), depending on x."""
    if not isinstance(e, Transpose) or not depends_on(e, x) or (isinstance(e.arg, MatrixSymbol) and not _is_1x1(e.arg)):
        return False  # Wᵀ of the variable W itself is read off by the product rule
    return e.arg.shape[1] != 1 or _is_1x1(e.arg)


def _push_transposes(u: Basic, x: Basic) -> Basic:
    if _needs_push(u, x):
        return transpose_of(u.arg)
    if isinstance(u, MatMul):
        return matmul(*(transpose_of(f.arg) if _needs_push(f, x) else f for f in u.args))
    return u


def _transpose_matches(D: Deriv) -> bool:
    u = D.expr
    return _needs_push(u, D.wrt) or (isinstance(u, MatMul) and any(_needs_push(f, D.wrt) for f in u.args))


def _distribute_matches(D: Deriv) -> bool:
    u = D.expr
    if not isinstance(u, MatMul):
        return False
    return any(isinstance(f, MatAdd) and depends_on(f, D.wrt) and f.shape[1] != 1 for f in u.args)


def _distribute(D: Deriv) -> MatrixExpr:
    """A (B + C) D = A B D + A C D for the first x-dependent sum that is not a column."""
    args = list(D.expr.args)
    for i, f in enumerate(args):
        if isinstance(f, MatAdd) and depends_on(f, D.wrt) and f.shape[1] != 1:
            return Deriv(add(*(matmul(*args[:i], t, *args[i + 1 :]) for t in f.args)), D.wrt)
    raise SymresError("distribute: no sum to distribute")  # pragma: no cover - the rule matched


def _outer_scalars(c: Basic) -> set[Scalar]:
    """The factors Scalar(s) of c not inside another one (s⁻¹ in Scalar(s⁻¹ aᵀb) is reached
    through ∂(s⁻¹ aᵀb)/∂x)."""
    if isinstance(c, Scalar):
        return {c}
    return set().union(*(_outer_scalars(a) for a in c.args)) if c.args else set()


def scalar_derivative(c: Basic, x: Basic) -> list[tuple[Basic, Basic]]:
    """∂c/∂x for a scalar expression c as pairs (coefficient, ∂s/∂x): c depends on x
    through its 1×1 factors `Scalar(s)` (and directly when x is a scalar symbol, with
    ∂s/∂x = 1 for s = x)."""
    out: list[tuple[Basic, Basic]] = []
    outer = _outer_scalars(c)
    hide = {S: sp.Dummy("s") for S in outer}  # all at once: xreplace then never enters a Scalar
    back = {t: S for S, t in hide.items()}
    for S in sorted((a for a in outer if depends_on(a, x)), key=str):
        coeff = sp.diff(c.xreplace(hide), hide[S]).xreplace(back)
        if coeff != 0:
            out.append((coeff, S.expr))
    if isinstance(x, sp.Symbol):
        hidden = {S: sp.Dummy() for S in c.atoms(Scalar)}
        direct = sp.diff(c.xreplace(hidden), x).xreplace({v: k for k, v in hidden.items()})
        if direct != 0:
            out.append((direct, None))
    return out


def _split_scalars(u: Basic) -> tuple[Basic, list[Basic]]:
    """u = c F_1⋯F_k as (c, [F_1..F_k]): c the product of the scalar factors."""
    args = u.args if isinstance(u, MatMul) else (u,)
    coeffs = [f for f in args if not getattr(f, "is_Matrix", False)]
    return sp.Mul(*coeffs), [f for f in args if getattr(f, "is_Matrix", False)]


def _product_rule_general(D: Deriv) -> MatrixExpr:
    """d(c F_1⋯F_k) = dc F_1⋯F_k + c Σ_i F_1⋯(dF_i)⋯F_k, the Jacobian read off each term:
    L (dF) R is L ∂F/∂x·r for a column F (r = R, 1×1), L Rᵀ ∂a/∂x for a row F = aᵀ,
    L diag(R) ∂a/∂x for F = diag(a), −L X⁻¹ (dX) X⁻¹ R for F = X⁻¹ (dX read off the same
    way), and (Rᵀ ⊗ L) for F = W, L (I ⊗ Rᵀ) for F = Wᵀ when x is the matrix W."""
    x, u = D.wrt, D.expr
    c, mats = _split_scalars(u)
    terms: list[Basic] = []
    for coeff, s in scalar_derivative(c, x):
        terms.append(matmul(coeff, *mats) if s is None else matmul(coeff, *mats, Deriv(s, x)))
    for i, f in enumerate(mats):
        terms += _differential_terms(c, mats[:i], f, mats[i + 1 :], x, u)
    return add(*terms) if terms else ZeroMatrix(*D.shape)


def _differential_terms(c: Basic, left: list[Basic], f: Basic, right: list[Basic], x: Basic, u: Basic) -> list[Basic]:
    """The terms of c L (dF) R as Jacobian terms (numerator layout), where the product
    c L F R is a column (so R is a column, or 1×1 when F is a column). A factor of F
    that is a sum, a product or an inverse is opened up recursively."""
    if not depends_on(f, x):
        return []
    if f == x and f.shape[1] != 1:  # d(L W R) = L dW R: vec gives (Rᵀ ⊗ L) dvec(W)
        r = matmul(*right) if right else Identity(f.shape[1])
        lft = matmul(*left) if left else Identity(f.shape[0])
        return [matmul(c, Kron(transpose_of(r), lft))]
    if isinstance(f, Transpose) and f.arg == x and x.shape[1] != 1 and right:  # L dWᵀ r = L (I_q ⊗ rᵀ) dvec(W)
        return [matmul(c, *left, Kron(Identity(x.shape[1]), transpose_of(matmul(*right))))]
    if isinstance(f, Diag):
        return [matmul(c, *left, *([Diag(matmul(*right))] if right else []), Deriv(f.vec, x))]
    if f.shape[1] == 1:
        scale = [Scalar(matmul(*right))] if right else []
        return [matmul(c, *scale, *left, Deriv(f, x))]
    if isinstance(f, Transpose) and f.arg.shape[1] == 1:
        return [matmul(c, *left, transpose_of(matmul(*right)), Deriv(f.arg, x))]
    if isinstance(f, Inv):  # L d(X⁻¹) R = −L X⁻¹ dX X⁻¹ R
        return _differential_terms(-c, [*left, f], f.arg, [f, *right], x, u)
    if isinstance(f, MatAdd):
        return [t for g in f.args for t in _differential_terms(c, left, g, right, x, u)]
    if isinstance(f, MatMul):
        cf, fm = _split_scalars(f)
        out = [matmul(c, coeff, *left, *fm, *right, *_dscalar(s, x)) for coeff, s in scalar_derivative(cf, x)]
        for j, g in enumerate(fm):
            out += _differential_terms(c * cf, [*left, *fm[:j]], g, [*fm[j + 1 :], *right], x, u)
        return out
    if isinstance(f, Transpose) and transpose_of(f.arg) != f:
        return _differential_terms(c, left, transpose_of(f.arg), right, x, u)
    if isinstance(f, Abbrev):
        return _differential_terms(c, left, f.definition, right, x, u)
    raise SymresError(_refusal(f, u))


def _dscalar(s: Basic | None, x: Basic) -> list[Basic]:
    """[∂s/∂x] for a 1×1 s; [] when x is a scalar met directly (∂x/∂x = 1)."""
    return [] if s is None else [Deriv(s, x)]


def _trace_terms(c: Basic, P: list[Basic], f: Basic, x: Basic, u: Basic) -> list[Basic]:
    """The terms of tr(c P dF) as rows (1×d, numerator layout), P a product of factors
    (empty: I) with P F square: tr(P da) = P da for a column a, tr(P daᵀ) = Pᵀ da,
    tr(P diag(da)) = 𝟙ᵀ(I ⊙ P) da, tr(P dX⁻¹) = −tr(X⁻¹ P X⁻¹ dX), tr(P dW) =
    vec(Pᵀ)ᵀ dvec(W), and tr(P L dG R) = tr(R P L dG) for a factor G of a product."""
    if not depends_on(f, x):
        return []
    if f.shape[1] == 1 and not (f == x and x.shape[1] != 1):
        return [matmul(c, *P, Deriv(f, x))]
    if isinstance(f, Transpose) and f.arg.shape[1] == 1:
        return [matmul(c, transpose_of(matmul(*P)), Deriv(f.arg, x))]
    if isinstance(f, Diag):
        n = f.shape[0]
        weights = [HadamardProduct(Identity(n), matmul(*P))] if P else []
        return [matmul(c, Transpose(OneMatrix(n, 1)), *weights, Deriv(f.vec, x))]
    if f == x:  # tr(P dW) = vec(Pᵀ)ᵀ dvec(W)
        return [matmul(c, Transpose(Vec(transpose_of(matmul(*P)) if P else Identity(x.shape[0]))))]
    if isinstance(f, Transpose) and f.arg == x:  # tr(P dWᵀ) = tr(Pᵀ dW)
        return [matmul(c, Transpose(Vec(matmul(*P) if P else Identity(x.shape[0]))))]
    if isinstance(f, Inv):  # tr(P dX⁻¹) = −tr(X⁻¹ P X⁻¹ dX)
        return _trace_terms(-c, [f, *P, f], f.arg, x, u)
    if isinstance(f, MatAdd):
        return [t for g in f.args for t in _trace_terms(c, P, g, x, u)]
    if isinstance(f, MatMul):
        cf, fm = _split_scalars(f)
        out = [matmul(c, coeff, Tr(matmul(*P, *fm)), *_dscalar(s, x)) for coeff, s in scalar_derivative(cf, x)]
        for j, g in enumerate(fm):
            out += _trace_terms(c * cf, [*fm[j + 1 :], *P, *fm[:j]], g, x, u)
        return out
    if isinstance(f, Transpose):  # tr(P dYᵀ) = tr(Pᵀ dY)
        return _trace_terms(c, [transpose_of(matmul(*P))] if P else [], f.arg, x, u)
    if isinstance(f, Abbrev):
        return _trace_terms(c, P, f.definition, x, u)
    raise SymresError(_refusal(f, u))


def _trace_rewrite(D: Deriv, P: list[Basic], X: Basic) -> MatrixExpr:
    terms = _trace_terms(sp.Integer(1), P, X, D.wrt, D.expr)
    return add(*terms) if terms else ZeroMatrix(*D.shape)


def _has_inverse_factor(D: Deriv) -> bool:
    if isinstance(D.expr, Inv):  # a 1×1 X⁻¹ (d = 1)
        return True
    return isinstance(D.expr, MatMul) and any(isinstance(f, Inv) and depends_on(f, D.wrt) for f in D.expr.args)


def _inverse_rewrite(D: Deriv) -> MatrixExpr:
    if isinstance(D.expr, Inv):  # 1×1: ∂(X⁻¹)/∂x = −X⁻¹ X⁻¹ ∂X/∂x
        return matmul(-1, D.expr, D.expr, Deriv(D.expr.arg, D.wrt))
    return _product_rule_general(D)


def _is_quotient(D: Deriv) -> bool:
    """D.expr = (…/s) M: a scalar factor with a negative power of an x-dependent base."""
    if not isinstance(D.expr, MatMul):
        return False
    c, _ = _split_scalars(D.expr)
    return any(p.exp.is_negative and depends_on(p.base, D.wrt) for p in c.atoms(sp.Pow))


def _refusal(f: Basic, u: Basic) -> str:
    from symres.render import text

    return (
        f"cannot differentiate the factor {text(f)} of {text(u)}: a matrix-valued factor that depends on "
        "the variable must be diag(v), a row vᵀ, a column, an inverse X⁻¹, a sum or product of such, or the variable itself"
    )


@functools.lru_cache(maxsize=64)
def defined_derivation(definition: Lambda) -> Derivation:
    """The derivation of J_f(u) = ∂f(u)/∂u from the definition Lambda(u, f(u)) (cached)."""
    (u,) = definition.variables
    body = definition.expr
    return differentiate(body if body.shape[1] == 1 else Vec(body), u)  # a matrix function: ∂vec(g(U))/∂vec(U)


def _parameter_inside(f: Defined, x: Basic) -> bool:
    """True when x occurs in f's definition itself (a gain γ of LN), not only in its argument:
    then ∂f(a)/∂x ≠ J_f(a) ∂a/∂x, and the chain rule through J_f alone would drop a term."""
    return depends_on(f.body, x)


def defined_jacobian(f: Defined) -> DefinedJacobian:
    """J_f(a) for f(a) = `f`: the Jacobian of f's definition (numerator layout; for a
    function of a matrix ∂vec(g(U))/∂vec(U)), derived once and named, at the argument a."""
    return DefinedJacobian(f.args[0], f.arg, Lambda(f.variable, defined_derivation(f.definition).result))


def _defined_chain(D: Deriv) -> MatrixExpr:
    f: Defined = D.expr
    return matmul(defined_jacobian(f), Deriv(f.arg, D.wrt))


RULES: tuple[Rule, ...] = (
    Rule(
        "identity",
        "identity",
        r"the derivative of the input with respect to itself is the identity, $\partial x/\partial x = I$",
        lambda D: D.expr == D.wrt,
        lambda D: Identity(D.wrt.shape[0]),
    ),
    Rule(
        "constant",
        "constant term",
        "a term that does not depend on x has zero derivative",
        _const,
        lambda D: ZeroMatrix(*D.shape),
    ),
    Rule(
        "definition",
        "definition",
        r"substitute the definition of a named quantity (e.g. $c = u - \mathbf{1}\mu$) under $\partial$",
        lambda D: isinstance(D.expr, Abbrev),
        lambda D: Deriv(D.expr.definition, D.wrt),
    ),
    Rule(
        "sum",
        "sum rule",
        "sum rule: the derivative of a sum is the sum of the derivatives",
        lambda D: isinstance(D.expr, MatAdd),
        lambda D: add(*(Deriv(t, D.wrt) for t in D.expr.args)),
    ),
    Rule(
        "linear",
        "linear map",
        r"linear map: $\partial (A u)/\partial x = A\, \partial u/\partial x$ for a constant $A$",
        lambda D: isinstance(D.expr, MatMul) and _linear_split(D.expr, D.wrt) is not None,
        lambda D: matmul(*_linear_split(D.expr, D.wrt)[0], Deriv(_linear_split(D.expr, D.wrt)[1], D.wrt)),  # type: ignore[index]
    ),
    Rule(
        "chain-scalar",
        "scalar chain rule",
        r"chain rule through a scalar function of a $1\times 1$ argument: $\partial f(s)/\partial x = "
        r"f'(s)\, \partial s/\partial x$",
        lambda D: isinstance(D.expr, Elementwise) and _is_1x1(D.expr.arg),
        lambda D: matmul(Elementwise(D.expr.args[0], D.expr.arg, D.expr.order + 1), Deriv(D.expr.arg, D.wrt)),
    ),
    Rule(
        "chain",
        r"chain rule through $\sigma$",
        r"chain rule through the elementwise $\sigma$: $\partial \sigma(u)/\partial x = "
        r"\operatorname{diag}(\sigma'(u))\, \partial u/\partial x$",
        lambda D: isinstance(D.expr, Elementwise) and D.expr.arg.shape[1] == 1,
        lambda D: matmul(Diag(Elementwise(D.expr.args[0], D.expr.arg, D.expr.order + 1)), Deriv(D.expr.arg, D.wrt)),
    ),
    Rule(
        "product",
        "product rule",
        r"product rule for the elementwise product: $\partial (a \odot b)/\partial x = "
        r"\operatorname{diag}(b)\, \partial a/\partial x + \operatorname{diag}(a)\, \partial b/\partial x$",
        lambda D: (
            isinstance(D.expr, HadamardProduct) or (isinstance(D.expr, MatMul) and _diag_product(D.expr, D.wrt) is not None)
        ),
        lambda D: _rewrite_product(D),
    ),
    Rule(
        "inner",
        "inner-product rule",
        r"product rule for the inner product: $\partial (a^{T} b)/\partial x = "
        r"b^{T} \partial a/\partial x + a^{T} \partial b/\partial x$ (a $1\times d$ row)",
        lambda D: _inner_split(D.expr, D.wrt) is not None,
        lambda D: _inner_rewrite(D),
    ),
    Rule(
        "quotient",
        "quotient rule",
        r"quotient rule for a $1\times 1$ divisor $s$: $d(u/s) = du/s - u\, ds/s^{2}$, "
        r"with the other factors by the product rule for differentials",
        _is_quotient,
        _product_rule_general,
    ),
    Rule(
        "scalar-product",
        "scalar product rule",
        r"product rule for a $1\times 1$ factor $s$ times a vector $a$: $\partial (s\, a)/\partial x = "
        r"a\, \partial s/\partial x + s\, \partial a/\partial x$ ($\partial s/\partial x$ is a row)",
        lambda D: _scalar_split(D.expr, D.wrt) is not None,
        lambda D: _scalar_rewrite(D),
    ),
    Rule(
        "unfold",
        "definition unfolded",
        r"the function defined above depends on the variable through a parameter of its definition "
        r"(not only through its argument), so it is replaced by its definition: $f(a) = \mathrm{body}_f(a)$",
        lambda D: isinstance(D.expr, Defined) and _parameter_inside(D.expr, D.wrt),
        lambda D: D.func(D.expr.body.xreplace({D.expr.variable: D.expr.arg}), D.wrt),
    ),
    Rule(
        "defined",
        "chain rule through a defined function",
        r"chain rule through a function defined above: $\partial f(a)/\partial x = J_f(a)\, \partial a/\partial x$, "
        r"with $J_f$ derived from the definition of $f$ (lemma)",
        lambda D: isinstance(D.expr, Defined),
        _defined_chain,
    ),
    Rule(
        "trace",
        "trace",
        r"differential of the trace: $d \operatorname{tr}(X) = \operatorname{tr}(dX)$, read off with "
        r"$\operatorname{tr}(P\, da) = P\, da$, $\operatorname{tr}(P\, da^{T}) = P^{T} da$, "
        r"$\operatorname{tr}(P \operatorname{diag}(da)) = \mathbf{1}^{T} (I \odot P)\, da$ and the cyclic "
        r"$\operatorname{tr}(P A\, dB\, C) = \operatorname{tr}(C P A\, dB)$",
        lambda D: isinstance(D.expr, Tr),
        lambda D: _trace_rewrite(D, [], D.expr.arg),
    ),
    Rule(
        "det",
        "determinant",
        r"differential of the determinant (Jacobi's formula): $d \det(X) = \det(X) "
        r"\operatorname{tr}(X^{-1} dX)$, the trace read off as in the trace rule",
        lambda D: isinstance(D.expr, Det),
        lambda D: matmul(Scalar(D.expr), _trace_rewrite(D, [Inv(D.expr.arg)], D.expr.arg)),
    ),
    Rule(
        "logdet",
        "log-determinant",
        r"differential of the log-determinant: $d \log\det(X) = \operatorname{tr}(X^{-1} dX)$ "
        r"(where $\det X > 0$), the trace read off as in the trace rule",
        lambda D: isinstance(D.expr, LogDet),
        lambda D: _trace_rewrite(D, [Inv(D.expr.arg)], D.expr.arg),
    ),
    Rule(
        "stack",
        "blockwise",
        r"a concatenation is differentiated block by block: $\partial [a; b]/\partial x = "
        r"[\partial a/\partial x; \partial b/\partial x]$",
        lambda D: isinstance(D.expr, VStack),
        lambda D: VStack(*(Deriv(p, D.wrt) for p in D.expr.args)),
    ),
    Rule(
        "transpose",
        "transpose",
        r"transpose rules: $(AB)^{T} = B^{T} A^{T}$, $(A + B)^{T} = A^{T} + B^{T}$, $(A^{T})^{T} = A$, "
        r"$s^{T} = s$ for a $1\times 1$ $s$, so that $d(A^{T}) = (dA)^{T}$ acts on columns and rows",
        _transpose_matches,
        lambda D: Deriv(_push_transposes(D.expr, D.wrt), D.wrt),
    ),
    Rule(
        "diag-1x1",
        r"$1\times 1$ diag",
        r"a $1\times 1$ $\operatorname{diag}(a)$ is $a$ itself",
        lambda D: isinstance(D.expr, Diag) and _is_1x1(D.expr),
        lambda D: Deriv(D.expr.vec, D.wrt),
    ),
    Rule(
        "distribute",
        "distributivity",
        r"distributivity: $A (B + C) D = A B D + A C D$",
        _distribute_matches,
        _distribute,
    ),
    Rule(
        "inverse",
        "inverse",
        r"differential of the inverse: $d(X^{-1}) = -X^{-1}\, dX\, X^{-1}$, so $L\, d(X^{-1}) R = "
        r"-L X^{-1} dX\, X^{-1} R$, with $dX$ and the other factors by the product rule for differentials",
        _has_inverse_factor,
        _inverse_rewrite,
    ),
    Rule(
        "product-general",
        "product rule (differentials)",
        r"product rule for differentials: $d(c F_1 \cdots F_k) = dc\, F_1 \cdots F_k + "
        r"c \sum_i F_1 \cdots dF_i \cdots F_k$, read off with $L\,(da^{T})\,R = L R^{T} da$, "
        r"$L\, d\operatorname{diag}(a)\, R = L \operatorname{diag}(R)\, da$, $L\, da\, r = r L\, da$ "
        r"($r$ $1\times 1$) and $\operatorname{vec}(L\, dW R) = (R^{T} \otimes L) \operatorname{vec}(dW)$",
        lambda D: isinstance(D.expr, MatMul),
        _product_rule_general,
    ),
)

#: the last step of a derivation when it changes anything: like terms collected
COLLECT = Rule(
    "collect",
    "collect terms",
    r"collect like terms: $c_1 T + c_2 T = (c_1 + c_2) T$ (e.g. $\operatorname{diag}(a) + "
    r"\operatorname{diag}(a) = 2 \operatorname{diag}(a)$), numeric factors multiplied out",
    lambda D: False,
    lambda D: D,
)


def _split_coeff(t: Basic) -> tuple[Basic, Basic]:
    """t = c·M with c the product of its scalar factors (1 when there are none)."""
    if isinstance(t, MatMul):
        scalars = [f for f in t.args if not getattr(f, "is_Matrix", False)]
        if scalars:
            return sp.Mul(*scalars), matmul(*(f for f in t.args if getattr(f, "is_Matrix", False)))
    return sp.Integer(1), t


def collect_terms(expr: Basic) -> Basic:
    """expr with like terms of every sum collected (c₁T + c₂T = (c₁ + c₂)T, order of first
    appearance kept, zero terms dropped) and the scalar factors of a product multiplied
    into one. Named quantities and defined functions are left as they are."""
    if not isinstance(expr, Basic) or not expr.args or isinstance(expr, (sp.MatrixSymbol, sp.Symbol, Abbrev, _Applied)):
        return expr
    if not getattr(expr, "is_Matrix", False) and not isinstance(expr, Scalar):
        return expr
    args = [collect_terms(a) for a in expr.args]
    if isinstance(expr, MatAdd):
        groups: dict[Basic, Basic] = {}
        for t in add(*args).args if isinstance(add(*args), MatAdd) else (add(*args),):
            c, m = _split_coeff(t)
            groups[m] = groups.get(m, sp.Integer(0)) + c
        kept = [matmul(c, m) for m, c in groups.items() if c != 0]
        return add(*kept) if kept else ZeroMatrix(*expr.shape)
    if isinstance(expr, MatMul):
        prod = matmul(*args)
        if isinstance(prod, MatMul):
            c, m = _split_coeff(prod)
            return matmul(c, *(m.args if isinstance(m, MatMul) else (m,)))
        return prod
    return expr.func(*args) if tuple(args) != expr.args else expr


def _rule_for(D: Deriv) -> Rule:
    for rule in RULES:
        if rule.matches(D):
            return rule
    from symres.render import text

    raise SymresError(
        f"cannot differentiate {text(D.expr)}: supported are sums, products (any factor a column, a row aᵀ, "
        "diag(a), an inverse or a constant), elementwise functions of vectors, Hadamard products, transposes, "
        "tr, det, log det, "
        "defined functions and concatenations"
    )


@dataclass(frozen=True)
class RuleStep:
    """before = after, by `rule` applied to every derivative it matches in `before`."""

    rule: Rule
    before: MatrixExpr
    after: MatrixExpr


@dataclass(frozen=True)
class Derivation:
    """∂expr/∂wrt derived in `steps`; `result` is the Jacobian (numerator layout)."""

    expr: MatrixExpr
    wrt: MatrixSymbol
    steps: tuple[RuleStep, ...]

    @property
    def start(self) -> Deriv:
        return Deriv(self.expr, self.wrt)

    @property
    def result(self) -> MatrixExpr:
        return self.steps[-1].after if self.steps else self.start


def _derivs(expr: Basic) -> list[Deriv]:
    """The unevaluated derivatives in expr, in reading order (pre-order, left first)."""
    if isinstance(expr, Deriv):
        return [expr]
    return [d for a in expr.args for d in _derivs(a)] if isinstance(expr, Basic) else []


def differentiate(expr: MatrixExpr, wrt: MatrixSymbol) -> Derivation:
    """Derive ∂expr/∂wrt step by step, in numerator layout: expr m×1 and wrt d×1 give
    m×d; a scalar wrt gives m×1; a matrix wrt W (p×q) gives ∂expr/∂vec(W), m×pq, vec
    stacking the columns (terms (Rᵀ ⊗ L) from vec(L dW R) = (Rᵀ ⊗ L) vec(dW)).

    At each step the first unevaluated derivative (in reading order) chooses the rule,
    and that rule is applied to every derivative it matches, so a step is one idea.
    Raises SymresError for an expression outside the supported vocabulary.
    """
    if not isinstance(wrt, (MatrixSymbol, sp.Symbol)):
        raise SymresError(f"differentiate with respect to a symbol (vector, matrix or scalar), not {wrt}")
    if not getattr(expr, "is_Matrix", False) or expr.shape[1] != 1:
        raise SymresError(f"the expression must be a column vector, got shape {expr.shape}")
    current: Basic = Deriv(expr, wrt)
    steps: list[RuleStep] = []
    while pending := _derivs(current):
        rule = _rule_for(pending[0])
        new = current.xreplace({D: rule.rewrite(D) for D in pending if _rule_for(D) is rule})
        new = tidy(new)
        steps.append(RuleStep(rule, current, new))
        current = new
    collected = collect_terms(current)
    if collected != current:
        steps.append(RuleStep(COLLECT, current, collected))
    from symres.simplify import simplification_steps  # simplify builds on this module

    for rule, before, after in simplification_steps(collected):
        steps.append(RuleStep(rule, before, after))
    return Derivation(expr, wrt, tuple(steps))


def jacobian(expr: MatrixExpr, wrt: MatrixSymbol) -> MatrixExpr:
    """∂expr/∂wrt in numerator layout (m×d), derived by `differentiate`.

    >>> import sympy as sp
    >>> from symres.expr import add, matmul
    >>> x, W = sp.MatrixSymbol("x", 2, 1), sp.MatrixSymbol("W", 2, 2)
    >>> jacobian(add(x, matmul(W, x)), x)
    I + W
    """
    return differentiate(expr, wrt).result


def monomials(expr: Basic) -> list[Basic]:
    """expr as a list of products with every sum multiplied out (order kept)."""
    if isinstance(expr, MatAdd):
        return [m for t in expr.args for m in monomials(t)]
    if isinstance(expr, MatMul):
        out: list[list[Basic]] = [[]]
        for f in expr.args:
            parts = monomials(f) if isinstance(f, MatAdd) else [f]
            out = [prefix + [p] for prefix in out for p in parts]
        return [matmul(*m) for m in out]
    return [expr]


def gradient_from_row(row: MatrixExpr, wrt: Basic) -> MatrixExpr:
    """∇_wrt s in the shape of wrt, from the row ∂s/∂wrt of a scalar s (numerator layout):
    the transpose for a vector, the 1×1 itself for a scalar, and for a matrix W (p×q)
    each term h (Rᵀ ⊗ L) of ∂s/∂vec(W) read back as Lᵀ hᵀ Rᵀ, since h (Rᵀ ⊗ L) vec(dW)
    = h L dW R = tr(R h L dW), and a term h vec(M)ᵀ (h 1×1, from a trace) as h M."""
    if not getattr(wrt, "is_Matrix", False):
        return row
    if wrt.shape[1] == 1:
        return transpose_of(row)
    terms = []
    for mono in monomials(row):
        if isinstance(mono, ZeroMatrix):
            continue
        c, m = _split_coeff(mono)
        factors = list(m.args) if isinstance(m, MatMul) else [m]
        last = factors[-1]
        if isinstance(last, Transpose) and isinstance(last.arg, Vec):  # h vec(M)ᵀ vec(dW) = h tr(Mᵀ dW): h M
            scale = [Scalar(matmul(*factors[:-1]))] if factors[:-1] else []
            terms.append(matmul(c, *scale, last.arg.args[0]))
            continue
        if not isinstance(last, Kron):
            from symres.render import text

            raise SymresError(f"cannot read the gradient with respect to {text(wrt)} off the term {text(mono)}")
        a, lft = factors[-1].args
        head = factors[:-1]
        if isinstance(a, Identity) and lft.shape[0] == 1:  # h (I ⊗ rᵀ) vec(dW) = h dWᵀ r = rᵀ dW hᵀ: r h
            terms.append(matmul(c, transpose_of(lft), *head))
            continue
        h = transpose_of(matmul(*head)) if head else None
        terms.append(matmul(c, transpose_of(lft), *([h] if h is not None else []), a))
    return collect_terms(add(*terms)) if terms else ZeroMatrix(*wrt.shape)


def _identity_coeff(t: Basic) -> Basic | None:
    """c for a term c·I (1 for I itself), None otherwise."""
    if isinstance(t, Identity):
        return sp.Integer(1)
    if isinstance(t, MatMul) and isinstance(t.args[-1], Identity) and all(not f.is_Matrix for f in t.args[:-1]):
        return sp.Mul(*t.args[:-1])
    return None


def shortcut_term(jac: MatrixExpr, wrt: Basic | None = None) -> tuple[str, Basic | None]:
    """How the input reaches the output in a derived Jacobian, read off its structure.

    Returns ("identity", None) when I is a term of the sum (an ungated identity path),
    ("scaled", c) when c·I is (a constant scalar c ≠ 1 multiplies the identity path; a
    scalar c that depends on `wrt`, such as det(I + x xᵀ), is a gate: ("gated", c)),
    ("gated", G) when the Jacobian is G·(I + …) or G·(cI + …), or has a term diag(g)
    (= diag(g)·I), so that the identity path is multiplied by G,
    ("concat", None) when the Jacobian is [I; …] (the input is copied into the output),
    ("other", S) when a constant term S ≠ I stands for the shortcut (e.g. W_s),
    ("gated-other", G S) when such a term sits inside G·(S + …), and
    ("none", None) when no term is free of the branch. With `wrt` (the input symbol),
    "constant" means free of wrt; without it, only a bare matrix symbol is recognised.
    """
    terms = jac.args if isinstance(jac, MatAdd) else (jac,)
    coeffs = [c for c in map(_identity_coeff, terms) if c is not None]
    if any(c == 1 for c in coeffs):
        return "identity", None
    if coeffs:  # c I: a constant scale, or a scalar gate when c depends on the input (det(I + x xᵀ) I)
        return ("gated" if wrt is not None and depends_on(coeffs[0], wrt) else "scaled"), coeffs[0]
    if isinstance(jac, VStack) and isinstance(jac.args[0], Identity):
        return "concat", None
    if isinstance(jac, MatMul) and isinstance(jac.args[-1], MatAdd):
        inner = [c for c in map(_identity_coeff, jac.args[-1].args) if c is not None]
        head = jac.args[:-1]
        if inner and not any(getattr(f, "is_Matrix", False) for f in head):  # c (I + …): a scaled identity path
            c = sp.Mul(*head) * inner[0]
            if wrt is not None and depends_on(c, wrt):
                return "gated", c
            return ("identity", None) if c == 1 else ("scaled", c)
        if inner:
            return "gated", matmul(*head, inner[0])
    for t in terms:
        if isinstance(t, Diag):
            return "gated", t
    for t in terms:
        if isinstance(t, MatrixSymbol) or (wrt is not None and not depends_on(t, wrt)):
            return "other", t
    if wrt is not None and isinstance(jac, MatMul) and isinstance(jac.args[-1], MatAdd):
        for t in jac.args[-1].args:
            if not depends_on(t, wrt):
                return "gated-other", matmul(*jac.args[:-1], t)
    return "none", None


def register_rules(*rules: Rule) -> None:
    """Append rules after those above (a rule already there is not added twice)."""
    global RULES
    RULES = (*RULES, *(r for r in rules if r not in RULES))


import symres.vec_rules  # noqa: E402,F401  registers the token-matrix rules (∂vec(M)/∂vec(X))
