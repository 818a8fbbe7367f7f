"""Exact rational arithmetic on scalars (`Fraction`) and matrices (rows of Fractions),
and the exact column of `symres.claims.functions.TABLE`: a function's value where it is
rational, else `NotRational` (the caller falls back to interval enclosures).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

XM = list[list[Fraction]]
Exact = Fraction | XM


class NotRational(Exception):
    """The value is not (known to be) rational here (internal): use enclosures instead."""


def mul(x: XM, y: XM) -> XM:
    """The matrix product x y."""
    return [[sum((x[i][k] * y[k][j] for k in range(len(y))), Fraction(0)) for j in range(len(y[0]))] for i in range(len(x))]


def scale(x: Exact, s: Fraction) -> Exact:
    if isinstance(x, Fraction):
        return x * s
    return [[s * e for e in row] for row in x]


def eye(d: int, s: Fraction = Fraction(1)) -> XM:
    return [[s if i == j else Fraction(0) for j in range(d)] for i in range(d)]


def sqrt(q: Fraction) -> Fraction | None:
    """√q when it is rational, else None."""
    if q < 0:
        return None
    p, r = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(p, r) if p * p == q.numerator and r * r == q.denominator else None


def det_by_elimination(rows: list[list[Any]], one: Any) -> Any:
    """det of the square matrix `rows` by Gaussian elimination with partial pivoting, in
    the arithmetic of `one` (Fraction: exact). `rows` is not changed."""
    m = [row[:] for row in rows]
    n, det = len(m), one
    for k in range(n):
        piv = max(range(k, n), key=lambda i: abs(m[i][k]))
        if m[piv][k] == 0:
            return one * 0
        if piv != k:
            m[k], m[piv] = m[piv], m[k]
            det = -det
        det *= m[k][k]
        for i in range(k + 1, n):
            f = m[i][k] / m[k][k]
            for j in range(k, n):
                m[i][j] -= f * m[k][j]
    return det


def psd(x: XM) -> bool:
    """Symmetric positive semidefinite, decided exactly (symmetric elimination)."""
    n = len(x)
    if any(x[i][j] != x[j][i] for i in range(n) for j in range(n)):
        return False
    m = [row[:] for row in x]
    for k in range(n):
        piv = m[k][k]
        if piv < 0:
            return False
        if piv == 0:
            if any(m[k][j] != 0 for j in range(k, n)):
                return False
            continue
        for i in range(k + 1, n):
            f = m[i][k] / piv
            for j in range(k, n):
                m[i][j] -= f * m[k][j]
    return True


# =========================================================================== the exact column


def _square(x: Exact) -> XM:
    if isinstance(x, Fraction) or len(x) != len(x[0]):
        raise NotRational
    return x


def _diagonal_magnitudes(x: Exact) -> list[Fraction]:
    """|x_ii| of a diagonal matrix (its singular values, and the moduli of its eigenvalues)."""
    m = _square(x)
    n = len(m)
    if any(m[i][j] != 0 for i in range(n) for j in range(n) if i != j):
        raise NotRational
    return [abs(m[i][i]) for i in range(n)]


def exact_abs(x: Exact) -> Exact:
    if not isinstance(x, Fraction):
        raise NotRational
    return abs(x)


def exact_norm(x: Exact) -> Exact:
    """|x|, the 2-norm of a vector whose sum of squares is a rational square, or the
    spectral norm of a diagonal matrix."""
    if isinstance(x, Fraction):
        return abs(x)
    if len(x) != len(x[0]):
        root = sqrt(sum((e * e for row in x for e in row), Fraction(0)))
        if root is None:
            raise NotRational
        return root
    return max(_diagonal_magnitudes(x))


def exact_sqrt(x: Exact) -> Exact:
    root = sqrt(x) if isinstance(x, Fraction) else None
    if root is None:
        raise NotRational
    return root


def exact_exp(x: Exact) -> Exact:
    """exp(0) = 1 and exp(0 matrix) = I; nothing else is rational."""
    if isinstance(x, Fraction):
        if x != 0:
            raise NotRational
        return Fraction(1)
    if any(e != 0 for row in _square(x) for e in row):
        raise NotRational
    return eye(len(x))


def exact_det(x: Exact) -> Exact:
    return det_by_elimination(_square(x), Fraction(1))  # type: ignore[no-any-return]


def exact_trace(x: Exact) -> Exact:
    m = _square(x)
    return sum((m[i][i] for i in range(len(m))), Fraction(0))


def exact_smin(x: Exact) -> Exact:
    return min(_diagonal_magnitudes(x))


def exact_smax(x: Exact) -> Exact:
    return max(_diagonal_magnitudes(x))


def not_rational(x: Exact) -> Exact:
    """A multiset (eig, svals) or what is taken of one: left to the enclosures."""
    raise NotRational
