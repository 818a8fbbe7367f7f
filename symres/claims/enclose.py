"""Rigorous enclosures of a statement at one instance: mpmath's interval arithmetic
(`mpmath.iv`, outward rounding), with enclosures of its own for what ``iv`` lacks.

Every value of the statement is enclosed: a scalar by an interval (``ivmpf``, or
``ivmpc`` for a complex eigenvalue), a matrix by a matrix of intervals (`IMat`), a
multiset by a list of intervals. What has no rigorous enclosure here raises
`NoEnclosure` (the point gives numeric evidence only); an interval that straddles a
singularity (a pivot, a divisor containing 0) raises `Imprecise` (more digits may help);
a value that is certainly undefined raises `Undefined`.

The functions without an ``iv`` implementation:

- singular values (norm, smin, smax, svals): the eigenvalues of the Jordan–Wielandt
  matrix [[0, A], [Aᵀ, 0]], which are ±σ_i(A) (and zeros), enclosed by `symmetric_eigs`;
- eigenvalues of a matrix known to be symmetric (a symbol with the property symmetric,
  psd or diagonal, Xᵀ X, X + Xᵀ, ...): `symmetric_eigs` — candidate intervals around
  approximate eigenvalues (mpmath's eigsy at the midpoint), certified by Sylvester's law
  of inertia: the number of eigenvalues below t is the number of negative pivots of the
  interval LDLᵀ elimination of A − t I, valid for every symmetric matrix in the box when
  no pivot interval contains 0;
- eigenvalues of another matrix: the strongly connected blocks of its pattern of exact
  zeros (a triangular or nilpotent matrix splits into 1×1 blocks), each block 1×1 (its
  entry), 2×2 (the quadratic formula, real or complex), or symmetric; else `NoEnclosure`;
- det: the Laplace expansion up to 5×5 (no division), interval elimination beyond;
- the matrix exponential: scaling and squaring with a Taylor polynomial and a rigorous
  bound of the remainder (‖X‖^K/K! · 1/(1 − ‖X‖/(K+1)), ‖·‖ bounded by Frobenius).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
from mpmath.ctx_iv import MPIntervalContext


class NoEnclosure(Exception):
    """No rigorous enclosure is implemented for this value (internal)."""


class Imprecise(Exception):
    """An interval straddles a singularity at this precision (internal): try more digits."""


class Undefined(Exception):
    """The value is certainly undefined (a division by 0, a complex number compared)."""


@dataclass
class IMat:
    """A matrix of intervals (rows of ``ivmpf``); ``sym``: the enclosed matrix is known to
    be symmetric (so its eigenvalues are real and `symmetric_eigs` applies)."""

    rows: list[list[Any]]
    sym: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), (len(self.rows[0]) if self.rows else 0)

    def entries(self) -> Iterable[Any]:
        for row in self.rows:
            yield from row


@functools.lru_cache(maxsize=16)
def _contexts(digits: int) -> tuple[Any, Any]:
    """An interval context at ``digits`` digits and a point context with 10 more, made once
    per precision (a context costs milliseconds to build) and never changed afterwards."""
    iv = MPIntervalContext()
    iv.dps = digits
    mp = mpmath.MPContext()
    mp.dps = digits + 10
    return iv, mp


class Arithmetic:
    """Interval arithmetic at ``digits`` decimal digits (a private ``iv`` context, so
    the precision of mpmath's global ``iv`` is never touched)."""

    def __init__(self, digits: int) -> None:
        self.iv, self.mp = _contexts(digits)
        self.digits = digits

    # ------------------------------------------------------------------ scalars
    def num(self, q: Fraction | int) -> Any:
        """An exact rational, enclosed."""
        q = Fraction(q)
        return self.iv.mpf(q.numerator) / q.denominator if q.denominator != 1 else self.iv.mpf(q.numerator)

    def ends(self, x: Any) -> tuple[Any, Any]:
        """The end points of a real interval as mpmath numbers."""
        lo, hi = x._mpi_
        return self.mp.make_mpf(lo), self.mp.make_mpf(hi)

    def mid(self, x: Any) -> Any:
        lo, hi = self.ends(x)
        return (lo + hi) / 2

    def point(self, x: Any) -> bool:
        lo, hi = x._mpi_
        return bool(lo == hi)

    def is_zero(self, x: Any) -> bool:
        if isinstance(x, self.iv.mpc):
            return self.is_zero(x.real) and self.is_zero(x.imag)
        lo, hi = self.ends(x)
        return bool(lo == 0 and hi == 0)

    def meet(self, x: Any, y: Any) -> Any:
        """The intersection of two enclosures of the same number."""
        (a, b), (c, d) = self.ends(x), self.ends(y)
        lo, hi = max(a, c), min(b, d)
        return self.iv.mpf([lo, hi]) if lo <= hi else x

    def real(self, x: Any) -> Any:
        """A value known to be real: an ivmpf (a complex enclosure whose imaginary part
        is exactly 0); `Undefined` if certainly complex, `Imprecise` if it may be."""
        if not isinstance(x, self.iv.mpc):
            return x
        lo, hi = self.ends(x.imag)
        if lo == 0 and hi == 0:
            return x.real
        if lo > 0 or hi < 0:
            raise Undefined("a complex value where a real number is needed")
        raise Imprecise

    def absolute(self, x: Any) -> Any:
        if isinstance(x, self.iv.mpc):
            return self.iv.sqrt(x.real**2 + x.imag**2)
        return abs(x)

    def sqrt(self, x: Any) -> Any:
        x = self.real(x)
        lo, hi = self.ends(x)
        if hi < 0:
            raise Undefined("the square root of a negative number")
        if lo < 0:
            raise Imprecise
        return self.iv.sqrt(x)

    #: beyond ±EXP_CAP, exp is enclosed by powers of 2 (2^k <= exp(x) <= 2^k' from x/ln 2
    #: rounded outwards) instead of computed; beyond EXP_HUGE its upper end is +inf
    #: (exp(exp(1000)) is 2^(2.8·10^434): its exponent still fits a Python integer)
    EXP_CAP = 10**6
    EXP_HUGE = 10**100

    def exp(self, x: Any) -> Any:
        if isinstance(x, self.iv.mpc):
            r = self.exp(x.real)
            return self.iv.mpc(r * self.iv.cos(x.imag), r * self.iv.sin(x.imag))
        lo, hi = self.ends(x)
        cap = self.EXP_CAP
        if -cap <= lo and hi <= cap:
            return self.iv.exp(x)
        return self.iv.mpf([self._exp_end(lo, upper=False), self._exp_end(hi, upper=True)])

    def _exp_end(self, t: Any, *, upper: bool) -> Any:
        """A lower (or upper) bound of exp(t), rigorous, for any t."""
        mp = self.mp
        if -self.EXP_CAP <= t <= self.EXP_CAP:
            return self.ends(self.iv.exp(self.iv.mpf(t)))[1 if upper else 0]
        if upper and t > self.EXP_HUGE:
            return mp.inf
        t = max(min(t, mp.mpf(self.EXP_HUGE)), -mp.mpf(self.EXP_HUGE))
        # 1.442695 < 1/ln 2 < 1.4427: pick the factor that moves t/ln 2 outwards
        small, big = mp.mpf("1.442695"), mp.mpf("1.4427")
        if upper:
            return mp.ldexp(1, int(mp.ceil(t * (big if t > 0 else small))) + 2)
        return mp.ldexp(1, int(mp.floor(t * (small if t > 0 else big))) - 2)

    def divide(self, x: Any, y: Any) -> Any:
        if self.is_zero(y):
            raise Undefined("a division by zero")
        if isinstance(y, self.iv.mpc):
            return x / y
        lo, hi = self.ends(y)
        if lo <= 0 <= hi:
            raise Imprecise
        return x / y

    def power(self, x: Any, e: Any) -> Any:
        """x^e for scalars: an integer exponent by repeated products (tight for even
        powers), else through exp(e log x) for x > 0."""
        if self.point(e):
            q = self.mp.make_mpf(e._mpi_[0])
            if q == int(q) and abs(q) <= 10**30:  # binary powering: ~100 products at most
                n = int(q)
                if n < 0:
                    return self.divide(self.iv.mpf(1), x**-n if n != -1 else x)
                return x**n if n else self.iv.mpf(1)
        base = self.real(x)
        lo, hi = self.ends(base)
        if hi < 0:
            raise Undefined("a negative number to a fractional power")
        if lo < 0:
            raise Imprecise
        if hi == 0 and self.ends(e)[0] < 0:
            raise Undefined("0 to a negative power")
        if lo == 0 and self.ends(e)[0] < 0:
            raise Imprecise
        return base**e

    # ------------------------------------------------------------------ matrices
    def eye(self, n: int) -> IMat:
        return IMat([[self.iv.mpf(int(i == j)) for j in range(n)] for i in range(n)], sym=True)

    def zeros(self, r: int, c: int) -> IMat:
        return IMat([[self.iv.mpf(0) for _ in range(c)] for _ in range(r)], sym=r == c)

    def symmetrised(self, m: IMat) -> IMat:
        """A matrix known to be symmetric: entries (i, j) and (j, i) enclose one number."""
        n = len(m.rows)
        rows = [row[:] for row in m.rows]
        for i in range(n):
            for j in range(i + 1, n):
                rows[i][j] = rows[j][i] = self.meet(rows[i][j], rows[j][i])
        return IMat(rows, sym=True)

    def matmul(self, a: IMat, b: IMat, *, sym: bool = False) -> IMat:
        iv = self.iv
        cols = list(zip(*b.rows))
        rows = [[iv.fsum(x * y for x, y in zip(row, col)) for col in cols] for row in a.rows]
        out = IMat(rows, sym=False)
        return self.symmetrised(out) if sym else out

    def add(self, a: IMat, b: IMat, sign: int) -> IMat:
        rows = [[x + sign * y for x, y in zip(r, s)] for r, s in zip(a.rows, b.rows)]
        return IMat(rows, sym=a.sym and b.sym)

    def scale(self, a: IMat, s: Any) -> IMat:
        return IMat([[s * x for x in row] for row in a.rows], sym=a.sym)

    def transpose(self, a: IMat) -> IMat:
        return IMat([list(c) for c in zip(*a.rows)], sym=a.sym)

    def trace(self, a: IMat) -> Any:
        return self.iv.fsum(a.rows[i][i] for i in range(len(a.rows)))

    def matpow(self, a: IMat, n: int) -> IMat:
        if n < 0:
            return self.matpow(self.inverse(a), -n)
        out, base = self.eye(len(a.rows)), a
        while n:
            if n & 1:
                out = self.matmul(out, base, sym=a.sym)
            n >>= 1
            if n:
                base = self.matmul(base, base, sym=a.sym)
        return out

    def inverse(self, a: IMat) -> IMat:
        """Gauss–Jordan elimination in intervals, pivoting on the largest midpoint."""
        n = len(a.rows)
        m = [row[:] + [self.iv.mpf(int(i == j)) for j in range(n)] for i, row in enumerate(a.rows)]
        for k in range(n):
            piv = max(range(k, n), key=lambda i: abs(self.mid(m[i][k])))
            m[k], m[piv] = m[piv], m[k]
            p = m[k][k]
            m[k] = [self.divide(x, p) for x in m[k]]
            for i in range(n):
                if i != k:
                    f = m[i][k]
                    m[i] = [x - f * y for x, y in zip(m[i], m[k])]
        return IMat([row[n:] for row in m], sym=a.sym)

    def det(self, a: IMat) -> Any:
        rows = a.rows
        if len(rows) <= 5:
            return self._laplace(rows, tuple(range(len(rows))))
        m = [row[:] for row in rows]
        n, det = len(m), self.iv.mpf(1)
        for k in range(n):
            piv = max(range(k, n), key=lambda i: abs(self.mid(m[i][k])))
            if piv != k:
                m[k], m[piv] = m[piv], m[k]
                det = -det
            p = m[k][k]
            det *= p
            for i in range(k + 1, n):
                f = self.divide(m[i][k], p)
                m[i] = [x - f * y for x, y in zip(m[i], m[k])]
        return det

    def _laplace(self, rows: list[list[Any]], cols: tuple[int, ...]) -> Any:
        if not cols:
            return self.iv.mpf(1)
        r = len(rows) - len(cols)
        terms = []
        for j, c in enumerate(cols):
            if not self.is_zero(rows[r][c]):
                sign = 1 if j % 2 == 0 else -1
                terms.append(sign * rows[r][c] * self._laplace(rows, cols[:j] + cols[j + 1 :]))
        return self.iv.fsum(terms) if terms else self.iv.mpf(0)

    def expm(self, a: IMat) -> IMat:
        """exp(A): scale by 2^-s until the Frobenius bound of A/2^s is small, a Taylor
        polynomial of degree K − 1, every entry widened by the remainder bound
        ‖X‖^K/K! · 1/(1 − ‖X‖/(K+1)), then s squarings."""
        iv, n = self.iv, len(a.rows)
        frob = self.ends(self.iv.sqrt(self.iv.fsum(x**2 for x in a.entries())))[1]
        # ‖A/2^s‖ <= 2^-g: g = digits/10 balances the Taylor terms and the squarings
        g = max(1, self.digits // 10)
        s = max(0, int(math.ceil(float(self.mp.log(max(frob, self.mp.mpf(1e-300)), 2)))) + g) if frob > 0 else 0
        x = self.scale(a, iv.mpf(1) / iv.mpf(2) ** s)
        bound = frob / 2**s
        k = 1
        term = self.eye(n)
        out = self.eye(n)
        while True:
            term = self.scale(self.matmul(term, x), iv.mpf(1) / k)
            out = self.add(out, term, 1)
            k += 1
            b = iv.mpf(bound)
            rem = self.ends(b**k / iv.factorial(k) / (1 - b / (k + 1)))[1]  # rounded upwards
            if rem < self.mp.mpf(10) ** (-self.digits - 5) or k > 4 * self.digits:
                break
        widen = iv.mpf([-rem, rem])
        out = IMat([[e + widen for e in row] for row in out.rows])
        for _ in range(s):
            out = self.matmul(out, out)
        return self.symmetrised(out) if a.sym else out

    # ------------------------------------------------------------------ spectra
    def _below(self, m: list[list[Any]], t: Any) -> int:
        """How many eigenvalues of every symmetric matrix in the box ``m`` lie below t
        (Sylvester: the negative pivots of LDLᵀ of m − t I); `Imprecise` if a pivot
        interval contains 0."""
        n = len(m)
        a = [[m[i][j] - (t if i == j else 0) for j in range(n)] for i in range(n)]
        count = 0
        for k in range(n):
            lo, hi = self.ends(a[k][k])
            if lo <= 0 <= hi:
                raise Imprecise
            count += hi < 0
            for i in range(k + 1, n):
                f = a[i][k] / a[k][k]
                for j in range(k + 1, n):
                    a[i][j] = a[i][j] - f * a[k][j]
        return count

    def symmetric_eigs(self, m: IMat) -> list[Any]:
        """Enclosures of the eigenvalues of a symmetric interval matrix, ascending."""
        n = len(m.rows)
        if n == 0:
            return []
        mp = self.mp
        mid = mp.matrix([[self.mid(x) for x in row] for row in m.rows])
        mid = (mid + mid.T) / 2
        approx = sorted(mp.eigsy(mid, eigvals_only=True)) if n > 1 else [mid[0, 0]]
        width = max(self.ends(x)[1] - self.ends(x)[0] for x in m.entries())
        scale = max([abs(v) for v in approx] + [mp.mpf(1)])
        r = n * width + scale * mp.mpf(10) ** (-(self.digits * 3) // 4)
        for _ in range(4):
            try:
                return self._verified_eigs(m.rows, approx, r)
            except Imprecise:
                r *= mp.mpf(10) ** max(2, self.digits // 8)
        raise Imprecise

    def _verified_eigs(self, rows: list[list[Any]], approx: Sequence[Any], r: Any) -> list[Any]:
        clusters: list[list[Any]] = []  # [lo, hi, first index, last index]
        for i, v in enumerate(approx):
            if clusters and v - r <= clusters[-1][1]:
                clusters[-1][1], clusters[-1][3] = v + r, i
            else:
                clusters.append([v - r, v + r, i, i])
        out: list[Any] = []
        for lo, hi, first, last in clusters:
            if self._below(rows, self.iv.mpf(lo)) != first or self._below(rows, self.iv.mpf(hi)) != last + 1:
                raise Imprecise
            out += [self.iv.mpf([lo, hi])] * (last - first + 1)
        return out

    def svals(self, a: IMat) -> list[Any]:
        """Enclosures of the singular values, ascending: the largest min(r, c) eigenvalues
        of the Jordan–Wielandt matrix [[0, A], [Aᵀ, 0]] (its spectrum is ±σ_i and zeros)."""
        r, c = a.shape
        z = self.iv.mpf(0)
        top = [[z] * r + row for row in a.rows]
        bottom = [list(col) + [z] * c for col in zip(*a.rows)]
        eigs = self.symmetric_eigs(IMat(top + bottom, sym=True))[-min(r, c) :] if min(r, c) else []
        return [self.iv.mpf([max(self.mp.mpf(0), self.ends(e)[0]), self.ends(e)[1]]) for e in eigs]

    def eigs(self, a: IMat) -> list[Any]:
        """Enclosures of the eigenvalues (a multiset, in no particular order)."""
        if a.sym:
            return self.symmetric_eigs(self.symmetrised(a))
        out: list[Any] = []
        for block in _blocks(a):
            sub = [[a.rows[i][j] for j in block] for i in block]
            if len(block) == 1:
                out.append(sub[0][0])
            elif len(block) == 2:
                out += self._eigs2(sub)
            else:
                raise NoEnclosure("eigenvalues of a non-symmetric block larger than 2×2")
        return out

    def _eigs2(self, m: list[list[Any]]) -> list[Any]:
        iv = self.iv
        half = (m[0][0] + m[1][1]) / 2
        disc = ((m[0][0] - m[1][1]) / 2) ** 2 + m[0][1] * m[1][0]
        lo, hi = self.ends(disc)
        if lo >= 0:
            root = iv.sqrt(disc)
            return [half - root, half + root]
        if hi < 0:
            root = iv.sqrt(-disc)
            return [iv.mpc(half, -root), iv.mpc(half, root)]
        raise Imprecise


def _blocks(a: IMat) -> list[list[int]]:
    """The strongly connected components of the graph i → j (entry (i, j) not exactly 0):
    the diagonal blocks of a block-triangular form, whose eigenvalues make up A's."""
    n = len(a.rows)
    reach = [[i == j or not _exact_zero(a.rows[i][j]) for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            if reach[i][k]:
                for j in range(n):
                    reach[i][j] = reach[i][j] or reach[k][j]
    seen: set[int] = set()
    out = []
    for i in range(n):
        if i not in seen:
            block = [j for j in range(n) if reach[i][j] and reach[j][i]]
            seen.update(block)
            out.append(block)
    return out


def _exact_zero(x: Any) -> bool:
    lo, hi = x._mpi_
    return bool(lo == hi == mpmath.libmp.fzero)


def order_statistics(ar: Arithmetic, xs: Sequence[Any]) -> list[Any]:
    """Enclosures of the k-th smallest of real numbers known by enclosures: the k-th
    smallest lower end and the k-th smallest upper end."""
    ends = [ar.ends(ar.real(x)) for x in xs]
    los = sorted(e[0] for e in ends)
    his = sorted(e[1] for e in ends)
    return [ar.iv.mpf([lo, hi]) for lo, hi in zip(los, his)]


# =========================================================================== the functions
# (the interval column of `symres.claims.functions.TABLE`)


def elementwise(fn: Any) -> Any:
    """A scalar function that also acts on each element of a multiset."""

    def apply(ar: Arithmetic, x: Any) -> Any:
        return [fn(ar, v) for v in x] if isinstance(x, list) else fn(ar, x)

    return apply


def norm(ar: Arithmetic, x: Any) -> Any:
    """|x| of a scalar, the 2-norm of a vector, the spectral norm (σ_max) of a matrix."""
    if not isinstance(x, IMat):
        return ar.absolute(x)
    if 1 in x.shape:
        return ar.iv.sqrt(ar.iv.fsum(v**2 for v in x.entries()))
    return ar.svals(x)[-1]


def extreme(top: bool) -> Any:
    """max (``top``) or min of a real multiset."""

    def apply(ar: Arithmetic, xs: Sequence[Any]) -> Any:
        stats = order_statistics(ar, xs)
        return stats[-1] if top else stats[0]

    return apply


def exp(ar: Arithmetic, x: Any) -> Any:
    """exp of a scalar, of each element of a multiset, or of a matrix."""
    if isinstance(x, IMat):
        return ar.expm(x)
    return [ar.exp(v) for v in x] if isinstance(x, list) else ar.exp(x)


def spectral_radius(ar: Arithmetic, x: IMat) -> Any:
    return extreme(True)(ar, [ar.absolute(v) for v in ar.eigs(x)])
