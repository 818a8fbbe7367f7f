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
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, Transpose, ZeroMatrix

from symres.errors import SymresError
from symres.expr import (
    Abbrev,
    Defined,
    DefinedJacobian,
    Deriv,
    Diag,
    Elementwise,
    Scalar,
    VStack,
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
    "differentiate",
    "jacobian",
    "shortcut_term",
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


@functools.lru_cache(maxsize=64)
def defined_derivation(definition: Lambda) -> Derivation:
    """The derivation of J_f(u) = ∂f(u)/∂u from the definition Lambda(u, f(u)) (cached)."""
    (u,) = definition.variables
    return differentiate(definition.expr, u)


def _defined_chain(D: Deriv) -> MatrixExpr:
    f: Defined = D.expr
    J = DefinedJacobian(f.args[0], f.arg, Lambda(f.variable, defined_derivation(f.definition).result))
    return matmul(J, Deriv(f.arg, D.wrt))


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
        lambda D: isinstance(D.expr, Elementwise) and D.expr.order == 0 and _is_1x1(D.expr.arg),
        lambda D: matmul(Elementwise(D.expr.args[0], D.expr.arg, 1), Deriv(D.expr.arg, D.wrt)),
    ),
    Rule(
        "chain",
        r"chain rule through $\sigma$",
        r"chain rule through the elementwise $\sigma$: $\partial \sigma(u)/\partial x = "
        r"\operatorname{diag}(\sigma'(u))\, \partial u/\partial x$",
        lambda D: isinstance(D.expr, Elementwise) and D.expr.order == 0,
        lambda D: matmul(Diag(Elementwise(D.expr.args[0], D.expr.arg, 1)), Deriv(D.expr.arg, D.wrt)),
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
        "scalar-product",
        "scalar product rule",
        r"product rule for a $1\times 1$ factor $s$ times a vector $a$: $\partial (s\, a)/\partial x = "
        r"a\, \partial s/\partial x + s\, \partial a/\partial x$ ($\partial s/\partial x$ is a row)",
        lambda D: _scalar_split(D.expr, D.wrt) is not None,
        lambda D: _scalar_rewrite(D),
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
        "stack",
        "blockwise",
        r"a concatenation is differentiated block by block: $\partial [a; b]/\partial x = "
        r"[\partial a/\partial x; \partial b/\partial x]$",
        lambda D: isinstance(D.expr, VStack),
        lambda D: VStack(*(Deriv(p, D.wrt) for p in D.expr.args)),
    ),
)


def _rule_for(D: Deriv) -> Rule:
    for rule in RULES:
        if rule.matches(D):
            return rule
    raise SymresError(
        f"cannot differentiate {type(D.expr).__name__} {D.expr}: supported are sums, products "
        "with constant matrices, elementwise activations, diag(v)·u, Hadamard products, inner products aᵀb, "
        "1×1 factors times vectors, defined functions and concatenations"
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
    """Derive ∂expr/∂wrt (numerator layout: expr m×1, wrt d×1 give m×d) step by step.

    At each step the first unevaluated derivative (in reading order) chooses the rule,
    and that rule is applied to every derivative it matches, so a step is one idea.
    Raises SymresError for an expression outside the supported vocabulary.
    """
    if not (isinstance(wrt, MatrixSymbol) and wrt.shape[1] == 1):
        raise SymresError(f"differentiate with respect to a column-vector symbol, not {wrt}")
    if expr.shape[1] != 1:
        raise SymresError(f"the expression must be a column vector, got shape {expr.shape}")
    current: Basic = Deriv(expr, wrt)
    steps: list[RuleStep] = []
    while pending := _derivs(current):
        rule = _rule_for(pending[0])
        new = current.xreplace({D: rule.rewrite(D) for D in pending if _rule_for(D) is rule})
        new = tidy(new)
        steps.append(RuleStep(rule, current, new))
        current = new
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
    ("scaled", c) when c·I is (a constant scalar c ≠ 1 multiplies the identity path),
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
    if coeffs:
        return "scaled", coeffs[0]
    if isinstance(jac, VStack) and isinstance(jac.args[0], Identity):
        return "concat", None
    if isinstance(jac, MatMul) and isinstance(jac.args[-1], MatAdd):
        inner = [c for c in map(_identity_coeff, jac.args[-1].args) if c is not None]
        if inner:
            return "gated", matmul(*jac.args[:-1], inner[0])
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
