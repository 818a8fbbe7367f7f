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

from collections.abc import Callable
from dataclasses import dataclass

from sympy import Basic, MatrixExpr, MatrixSymbol
from sympy.matrices.expressions import HadamardProduct, Identity, MatAdd, MatMul, ZeroMatrix

from symres.errors import SymresError
from symres.expr import Deriv, Diag, Elementwise, add, depends_on, matmul, tidy

__all__ = ["Rule", "RULES", "RuleStep", "Derivation", "differentiate", "jacobian", "shortcut_term"]


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


def _hadamard_pair(u: HadamardProduct) -> tuple[MatrixExpr, MatrixExpr]:
    first, *rest = u.args
    return first, (rest[0] if len(rest) == 1 else HadamardProduct(*rest))


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
        lambda D: isinstance(D.expr, HadamardProduct)
        or (isinstance(D.expr, MatMul) and _diag_product(D.expr, D.wrt) is not None),
        lambda D: _product_rule([], *_hadamard_pair(D.expr), D.wrt)
        if isinstance(D.expr, HadamardProduct)
        else _product_rule(*_diag_product(D.expr, D.wrt), D.wrt),  # type: ignore[misc]
    ),
)


def _rule_for(D: Deriv) -> Rule:
    for rule in RULES:
        if rule.matches(D):
            return rule
    raise SymresError(
        f"cannot differentiate {type(D.expr).__name__} {D.expr}: supported are sums, products "
        "with constant matrices, elementwise activations, diag(v)·u and Hadamard products of the input"
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


def shortcut_term(jac: MatrixExpr) -> tuple[str, MatrixExpr | None]:
    """How the input reaches the output in a derived Jacobian, read off its structure.

    Returns ("identity", None) when I is a term of the sum (an ungated identity path),
    ("gated", G) when the Jacobian is G·(I + …) (the identity path is multiplied by G),
    ("other", S) when a constant term S ≠ I stands for the shortcut (e.g. W_s), and
    ("none", None) when no term is free of the branch.
    """
    terms = jac.args if isinstance(jac, MatAdd) else (jac,)
    if any(isinstance(t, Identity) for t in terms):
        return "identity", None
    if isinstance(jac, MatMul) and isinstance(jac.args[-1], MatAdd):
        if any(isinstance(t, Identity) for t in jac.args[-1].args):
            return "gated", matmul(*jac.args[:-1])
    for t in terms:
        if isinstance(t, MatrixSymbol):
            return "other", t
    return "none", None
