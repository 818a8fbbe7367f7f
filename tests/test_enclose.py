"""Rigorous enclosures (symres.claims.enclose): every enclosure contains the true value.

Oracles: exact rationals (fractions.Fraction) where the value is rational, else mpmath
at 100 digits with other algorithms (svd_r, eigsy, expm, eig) than the enclosures use.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symres.claims.enclose import Arithmetic, IMat, Imprecise, NoEnclosure, Undefined
from symres.claims.functions import TABLE

REF = mpmath.MPContext()
REF.dps = 100


def _box(ar: Arithmetic, a: np.ndarray, *, sym: bool = False) -> IMat:
    m = IMat([[ar.num(Fraction(repr(float(x)))) for x in row] for row in np.atleast_2d(a)])
    return ar.symmetrised(m) if sym else m


def _ref(a: np.ndarray) -> Any:
    return REF.matrix([[REF.mpf(repr(float(x))) for x in row] for row in np.atleast_2d(a)])


def _inside(ar: Arithmetic, x: Any, ref: Any) -> bool:
    lo, hi = ar.ends(x)
    return bool(lo <= ref <= hi)


_MATRICES = st.builds(
    lambda d, seed, kind: _draw(d, seed, kind),
    st.integers(1, 4),
    st.integers(0, 10_000),
    st.sampled_from(["gauss", "rank1", "identity", "tiny", "repeated"]),
)


def _draw(d: int, seed: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "rank1":
        u = rng.standard_normal((d, 1))
        return u @ u.T
    if kind == "identity":
        return np.eye(d)
    if kind == "tiny":
        return rng.standard_normal((d, d)) * 1e-25
    if kind == "repeated":
        return np.diag(np.repeat(rng.standard_normal(1), d))
    return rng.standard_normal((d, d))


@settings(max_examples=40, deadline=None)
@given(a=_MATRICES, digits=st.sampled_from([30, 60]))
def test_singular_values_are_enclosed(a: np.ndarray, digits: int) -> None:
    ar = Arithmetic(digits)
    got = ar.svals(_box(ar, a))
    ref = sorted(REF.svd_r(_ref(a), compute_uv=False))
    assert len(got) == len(ref)
    assert all(_inside(ar, x, r) for x, r in zip(got, ref))


@settings(max_examples=40, deadline=None)
@given(a=_MATRICES)
def test_eigenvalues_of_symmetric_matrices_are_enclosed(a: np.ndarray) -> None:
    ar = Arithmetic(30)
    s = a + a.T
    got = ar.eigs(_box(ar, s, sym=True))
    ref = sorted(REF.eigsy(_ref(s), eigvals_only=True)) if len(s) > 1 else [REF.mpf(repr(float(s[0, 0])))]
    assert all(_inside(ar, x, r) for x, r in zip(got, ref))


@settings(max_examples=30, deadline=None)
@given(a=_MATRICES)
def test_matrix_exponential_and_determinant_are_enclosed(a: np.ndarray) -> None:
    ar = Arithmetic(30)
    box = _box(ar, a)
    e, ref = ar.expm(box), REF.expm(_ref(a))
    n = len(a)
    assert all(_inside(ar, e.rows[i][j], ref[i, j]) for i in range(n) for j in range(n))
    exact = [[Fraction(repr(float(x))) for x in row] for row in a]
    det = _det(exact)
    lo, hi = ar.ends(ar.det(box))
    assert lo <= REF.mpf(det.numerator) / det.denominator <= hi


def _det(m: list[list[Fraction]]) -> Fraction:
    if not m:
        return Fraction(1)
    return sum(((-1) ** j * m[0][j] * _det([r[:j] + r[j + 1 :] for r in m[1:]]) for j in range(len(m))), Fraction(0))


def test_eigenvalues_of_two_by_two_blocks_real_and_complex() -> None:
    ar = Arithmetic(30)
    for a in (np.array([[0.0, -1.0], [1.0, 0.0]]), np.array([[2.0, 1.0], [0.5, -3.0]]), np.array([[0.3, 1.7], [-2.0, 0.1]])):
        got = ar.eigs(_box(ar, a))
        ref = REF.eig(_ref(a), left=False, right=False)
        for r in ref:  # every true eigenvalue lies in some enclosure
            assert any(_inside(ar, x.real, r.real) and _inside(ar, x.imag, r.imag) for x in got if hasattr(x, "imag")) or any(
                _inside(ar, x, r) for x in got if not hasattr(x, "imag")
            )


def test_a_nilpotent_matrix_has_eigenvalues_exactly_zero() -> None:
    """A permuted strictly triangular matrix: its blocks are 1×1 zeros."""
    ar = Arithmetic(30)
    n = np.array([[0.0, 0.0, 0.0], [1.3, 0.0, 0.0], [-0.2, 2.5, 0.0]])[[2, 0, 1]][:, [2, 0, 1]]
    got = TABLE["rho"].interval(ar, _box(ar, n))
    assert ar.ends(got) == (0, 0)


def test_what_has_no_rigorous_enclosure_says_so() -> None:
    ar = Arithmetic(30)
    with pytest.raises(NoEnclosure):
        ar.eigs(_box(ar, np.arange(9.0).reshape(3, 3) + np.eye(3) * [[1], [0], [2]]))
    with pytest.raises(Undefined):
        ar.divide(ar.num(1), ar.num(0))
    with pytest.raises(Imprecise):
        ar.divide(ar.num(1), ar.iv.mpf([-1, 1]))


def test_the_precision_of_the_global_iv_context_is_not_touched() -> None:
    before = mpmath.iv.prec
    Arithmetic(300).svals(_box(Arithmetic(300), np.eye(2)))
    assert mpmath.iv.prec == before


def test_one_table_of_functions_covers_the_language() -> None:
    """Every function the grammar reads has one row: a kind rule, a NumPy batch, an
    interval enclosure; the kind checker's messages come from it."""
    from symres import grammar

    assert set(TABLE) == set(grammar.FUNCTIONS)
    assert TABLE["eig"].kind(grammar.Kind.MATRIX) is grammar.Kind.MULTISET
    assert TABLE["abs"].kind(grammar.Kind.ZERO) is grammar.Kind.SCALAR
    assert TABLE["max"].kind(grammar.Kind.SCALAR) is None
    with pytest.raises(Exception, match="column 1: norm\\(·\\) of a multiset is not defined"):
        grammar.analyse(grammar.parse("norm(eig(A)) = 1"))


@pytest.mark.parametrize("t", ["2e6", "-2e6", "123456789.5", "-98765432.25", "1e150", "-1e150"])
def test_exp_of_huge_arguments_is_enclosed_without_computing_it(t: str) -> None:
    """Beyond ±10^6, exp is enclosed by powers of 2 (an upper end +inf beyond 10^100)."""
    ar = Arithmetic(30)
    lo, hi = ar.ends(ar.exp(ar.num(Fraction(t))))
    x = REF.mpf(t)
    if abs(x) < 10**9:
        ref = REF.exp(x)
        assert lo <= ref <= hi and lo > 0
    else:
        if x > 0:  # exp(1e150) >= exp(1e100) >= 2^(10^100)
            assert hi == REF.inf and REF.log(lo, 2) > 1e100
        else:  # 0 <= exp(-1e150) <= exp(-1e100) <= 2^(-10^100)
            assert lo >= 0 and REF.log(hi, 2) < -1e100
