"""Simplification as proof steps: like terms collected, common factors taken out, the terms
of a sum put in a canonical order.

Each function rewrites every sum of an expression (bottom-up, leaving named quantities and
defined functions as they are) and returns an equal expression; `simplification_steps`
chains them as (rule, before, after) triples that `symres.calculus.differentiate` records
as proof lines, each checked like the others (numerically, and symbolically at d = 2).

- collect like terms: c₁T + c₂T = (c₁ + c₂)T (`symres.calculus.collect_terms`);
- factor: A B + A C = A (B + C) and B A + C A = (B + C) A, the largest common factor first,
  only where the product is shorter (every factored term keeps a factor of its own, so no
  identity appears);
- order: in every sum, the identity path first (I or c·I), then terms with fewer factors,
  positive before negative, otherwise as they stood (a stable sort).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sympy as sp
from sympy import Basic
from sympy.matrices.expressions import MatAdd, MatMul, Transpose, ZeroMatrix

from symres.expr import Kron, VStack, add, matmul

if TYPE_CHECKING:
    from symres.calculus import Rule

__all__ = ["FACTOR", "ORDER", "factor_common", "canonical_order", "simplification_steps"]


def _rule(name: str, short: str, reason: str) -> Rule:
    from symres.calculus import Rule

    return Rule(name, short, reason, lambda D: False, lambda D: D)


def _split(t: Basic) -> tuple[Basic, list[Basic]]:
    """t = c·F₁⋯F_k: (c, [F₁, …, F_k]) with c the product of its scalar factors."""
    if isinstance(t, MatMul):
        scalars = [f for f in t.args if not getattr(f, "is_Matrix", False)]
        return sp.Mul(*scalars), [f for f in t.args if getattr(f, "is_Matrix", False)]
    return sp.Integer(1), [t]


def _each_sum(expr: Basic, rewrite: Callable[[MatAdd], Basic]) -> Basic:
    """expr with `rewrite` applied to every sum of the derivative's own structure (sums,
    products, transposes, Kronecker products, concatenations), innermost first; the
    arguments of σ(·), diag(·), 1×1 scalars and named quantities stay as written."""
    if not isinstance(expr, (MatAdd, MatMul, Transpose, Kron, VStack)):
        return expr
    args = [_each_sum(a, rewrite) for a in expr.args]
    if isinstance(expr, MatAdd):
        new = add(*args)
        return rewrite(new) if isinstance(new, MatAdd) else new
    if isinstance(expr, MatMul):
        return matmul(*args)
    return expr.func(*args) if tuple(args) != expr.args else expr


def _factor_sum(s: MatAdd) -> Basic:
    terms = [_split(t) for t in s.args]
    done: list[Basic | None] = [None] * len(terms)  # the factored term stands where its first member stood
    free = set(range(len(terms)))
    while True:
        best: tuple[int, int, str, tuple[Basic, ...], list[int]] | None = None
        for side in ("right", "left"):
            seen: set[tuple[Basic, ...]] = set()
            for i in sorted(free):
                fs = terms[i][1]
                for k in range(1, len(fs)):
                    common = tuple(fs[-k:]) if side == "right" else tuple(fs[:k])
                    if common in seen:
                        continue
                    seen.add(common)
                    group = [
                        j
                        for j in sorted(free)
                        if len(terms[j][1]) > k
                        and (tuple(terms[j][1][-k:]) if side == "right" else tuple(terms[j][1][:k])) == common
                    ]
                    if len(group) >= 2:
                        key = ((len(group) - 1) * k, k, side, common, group)
                        if best is None or key[:2] > best[:2]:
                            best = key
        if best is None:
            break
        _, k, side, common, group = best
        rest = [matmul(terms[j][0], *(terms[j][1][:-k] if side == "right" else terms[j][1][k:])) for j in group]
        inner = add(*rest)
        done[group[0]] = matmul(inner, *common) if side == "right" else matmul(*common, inner)
        free -= set(group)
    if all(d is None for d in done):
        return s
    kept = [d if d is not None else matmul(terms[i][0], *terms[i][1]) for i, d in enumerate(done) if d is not None or i in free]
    return add(*kept)


def factor_common(expr: Basic) -> Basic:
    """expr with common left and right factors of the terms of every sum taken out:
    A B + A C = A (B + C), B A + C A = (B + C) A, the largest saving first."""
    return _each_sum(expr, _factor_sum)


def _order_key(t: Basic) -> tuple[int, int, int]:
    from symres.calculus import _identity_coeff

    c, fs = _split(t)
    negative = 1 if (c.could_extract_minus_sign() if isinstance(c, sp.Expr) and c.is_number else False) else 0
    return (0 if _identity_coeff(t) is not None else 1, len(fs), negative)


def canonical_order(expr: Basic) -> Basic:
    """expr with the terms of every sum in a canonical order: the identity path first (I or
    c·I), then fewer factors first, positive before negative terms; ties keep their order."""

    def order(s: MatAdd) -> Basic:
        terms = sorted(s.args, key=_order_key)
        return MatAdd(*terms) if list(terms) != list(s.args) else s

    return _each_sum(expr, order)


FACTOR = _rule(
    "factor",
    "common factor",
    r"distributivity backwards: $A B + A C = A (B + C)$ and $B A + C A = (B + C) A$ (a common factor taken out)",
)
ORDER = _rule(
    "order",
    "order of terms",
    "a sum is commutative: its terms in a canonical order (the identity path first, then fewer factors)",
)


def simplification_steps(expr: Basic) -> list[tuple[Rule, Basic, Basic]]:
    """The steps that simplify a derived expression after its like terms were collected:
    (FACTOR, before, after) when a common factor comes out, then (ORDER, …) when the terms
    move; each `after` equals its `before`."""
    steps: list[tuple[Rule, Basic, Basic]] = []
    current = expr
    for rule, fn in ((FACTOR, factor_common), (ORDER, canonical_order)):
        new = fn(current)
        if new != current and not isinstance(new, ZeroMatrix):
            steps.append((rule, current, new))
            current = new
    return steps
