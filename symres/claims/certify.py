"""Certified decisions at one instance: exact rationals where the values are rational,
else enclosures at doubling precision (`_certify`).

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from symres import grammar as g
from symres.claims.model import Array, Claim, Key, Sub, _bindings, _match
from symres.claims.sampling import _to_float
from symres.errors import SymresError

if TYPE_CHECKING:
    from symres.claims.search import _Instance

# =========================================================================== 40 digits

PRECISE_DIGITS = 40


class _Unconfirmed(Exception):
    """The high-precision evaluation could not be carried out (internal)."""


class _Precise:
    """The same walk over the AST on one instance, in 40-digit mpmath arithmetic: the
    independent re-verification of every counterexample (floating-point error in double
    precision, e.g. of det(exp(M)) or of the eigenvalues of a defective matrix, can
    fake a violation; at 40 digits it cannot at the tolerances used here)."""

    def __init__(self, claim: Claim, inst: _Instance, digits: int = PRECISE_DIGITS) -> None:
        import mpmath

        self.mp = mpmath.MPContext()
        self.mp.dps = digits
        self.claim = claim
        self.sig = claim.signature
        self.inst = inst
        self.d = inst.d
        self.cache: dict[Key, Any] = {}
        self._busy: set[Key] = set()
        self.peak = 1.0  # the largest magnitude met: how many digits cancellation can eat
        self.big = self.mp.mpf(0)  # the largest magnitude met, from 0: the scale of rounding errors

    def _track(self, v: Any) -> Any:
        mp = self.mp
        items = list(v) if isinstance(v, (list, mp.matrix)) else [v]
        for x in items:
            m = abs(x)
            if mp.isfinite(m) and m > self.peak:
                self.peak = float(min(m, mp.mpf("1e300")))
            if mp.isfinite(m) and m > self.big:
                self.big = m
        return v

    def _num(self, x: Any) -> Any:
        """A value of the instance as printed: the shortest decimal that reads back as
        the double (``0.1`` means 1/10 here, not 0.1000000000000000055...)."""
        return self.mp.mpf(repr(float(x)))

    def value(self, key: Key) -> Any:
        if key in self.cache:
            return self.cache[key]
        base, sub = key
        if sub is None and base in self.inst.ints:
            return self.mp.mpf(self.inst.ints[base])
        if key in self._busy:
            raise _Unconfirmed
        self._busy.add(key)
        try:
            for dfn in self.claim.rules.defs:
                binding = _match(dfn.target, key)
                if binding is not None:
                    out = self.eval(dfn.expr, binding)
                    if self.sig.kind(dfn.expr) is g.Kind.ZERO:
                        kind = self.sig.kinds[base]
                        out = self.mp.zeros(self.d, self.d if kind is g.Kind.MATRIX else 1) if kind is not g.Kind.SCALAR else 0
                    break
            else:
                if key not in self.inst.values:
                    raise _Unconfirmed
                v = np.asarray(self.inst.values[key], dtype=float)
                out = self._num(v) if v.ndim == 0 else self.mp.matrix([[self._num(x) for x in row] for row in v.tolist()])
        finally:
            self._busy.discard(key)
        self.cache[key] = out
        return out

    def eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Any:
        return self._track(self._eval(node, scope))

    def _eval(self, node: g.Node, scope: Mapping[str, Sub]) -> Any:
        mp = self.mp
        if isinstance(node, g.Num):
            return mp.mpf(node.value.numerator) / node.value.denominator
        if isinstance(node, g.Pi):
            return mp.pi
        if isinstance(node, g.Identity):
            return mp.eye(self.d)
        if isinstance(node, g.Name):
            if node.sub is None and node.base in scope:
                v = scope[node.base]
                if not isinstance(v, int):
                    raise _Unconfirmed
                return mp.mpf(v)
            text = node.sub
            sub: Sub = None if text is None else (scope[text] if text in scope else (int(text) if text.isdigit() else text))
            return self.value((node.base, sub))
        if isinstance(node, g.Neg):
            x = self.eval(node.arg, scope)
            return [-y for y in x] if isinstance(x, list) else -x
        if isinstance(node, g.Transpose):
            x = self.eval(node.arg, scope)
            return x.T if isinstance(x, mp.matrix) else x
        if isinstance(node, g.BinOp):
            return self._binop(node, scope)
        if isinstance(node, g.Pow):
            return self._pow(node, scope)
        if isinstance(node, g.Call):
            return self._call(node.func, self.eval(node.arg, scope))
        if isinstance(node, g.Reduce):
            return self._reduce(node, scope)
        raise _Unconfirmed

    def _binop(self, node: g.BinOp, scope: Mapping[str, Sub]) -> Any:
        mp = self.mp
        ka, kb = self.sig.kind(node.left), self.sig.kind(node.right)
        a, b = self.eval(node.left, scope), self.eval(node.right, scope)
        if node.op in "+-":
            sign = 1 if node.op == "+" else -1
            if ka is g.Kind.ZERO:
                return [sign * y for y in b] if isinstance(b, list) else sign * b
            if kb is g.Kind.ZERO:
                return a
            if isinstance(a, list) or isinstance(b, list):
                if isinstance(a, list) and isinstance(b, list):
                    raise _Unconfirmed
                if isinstance(a, list):
                    return [x + sign * b for x in a]
                return [a + sign * y for y in b]
            return a + sign * b
        if node.op == "/":
            return [x / b for x in a] if isinstance(a, list) else a * (1 / b)
        if isinstance(a, list):
            return [x * b for x in a]
        if isinstance(b, list):
            return [a * y for y in b]
        out = a * b
        if self.sig.kind(node) is g.Kind.SCALAR and isinstance(out, mp.matrix):
            return out[0, 0]
        return out

    def _pow(self, node: g.Pow, scope: Mapping[str, Sub]) -> Any:
        mp = self.mp
        a, e = self.eval(node.base, scope), self.eval(node.exp, scope)
        if isinstance(a, mp.matrix):
            n = int(e)
            if n < 0:
                if mp.det(a) == 0:
                    raise _Unconfirmed
                return (a**-1) ** (-n)
            return a**n if n else mp.eye(self.d)
        if isinstance(a, list):
            return [mp.power(x, e) for x in a]
        return mp.power(a, e)

    def _svals(self, a: Any) -> list[Any]:
        return sorted(self.mp.svd_r(a, compute_uv=False)) if a.rows * a.cols else []

    def _call(self, f: str, a: Any) -> Any:
        mp = self.mp
        if isinstance(a, list):
            if f == "abs":
                return [abs(x) for x in a]
            reals = [self._real(x) for x in a]
            return max(reals) if f == "max" else min(reals)
        if not isinstance(a, mp.matrix):
            table: dict[str, Callable[[Any], Any]] = {"norm": abs, "abs": abs, "sqrt": mp.sqrt, "exp": mp.exp}
            return table[f](a)
        if f in ("norm", "smax"):
            return self._svals(a)[-1]
        if f == "svals":
            return self._svals(a)
        if f == "smin":
            return self._svals(a)[0]
        if f == "eig":
            return self._eig(a)
        if f == "rho":
            return max(abs(x) for x in self._eig(a))
        if f == "det":
            return self._det(a)
        if f == "tr":
            return mp.fsum(a[i, i] for i in range(a.rows))
        if f == "exp":
            return mp.expm(a)
        raise _Unconfirmed

    def _eig(self, a: Any) -> list[Any]:
        # mpmath returns (E, ER, EL) for a 1×1 matrix even with left=right=False
        values = self.mp.eig(a, left=False, right=False)
        return list(values[0] if isinstance(values, tuple) else values)

    def _det(self, a: Any) -> Any:
        """Gaussian elimination with partial pivoting and no singularity threshold (mpmath's
        det returns an exact 0 below its threshold, which two precisions can agree on)."""
        rows = [[a[i, j] for j in range(a.cols)] for i in range(a.rows)]
        return det_by_elimination(rows, self.mp.mpf(1))

    def _real(self, x: Any) -> Any:
        if isinstance(x, self.mp.mpc):
            if abs(x.imag) > 1e-9 * max(1, abs(x)):
                raise _Unconfirmed
            return x.real
        return x

    def _reduce(self, node: g.Reduce, scope: Mapping[str, Sub]) -> Any:
        lo = int(self.eval(node.lo, scope))
        hi = int(self.eval(node.hi, scope))
        acc: Any = None
        for i in range(lo, hi + 1):
            v = self.eval(node.body, {**scope, node.var: i})
            if self.sig.kind(node.body) is g.Kind.ZERO:
                v = self.mp.mpf(0)
            acc = v if acc is None else (acc + v if node.op == "sum" else v * acc)
        if acc is not None:
            return acc
        if self.sig.kind(node) is g.Kind.MATRIX:
            return self.mp.eye(self.d) if node.op == "prod" else self.mp.zeros(self.d, self.d)
        return self.mp.mpf(1 if node.op == "prod" else 0)

    def sides(self, a: g.Node, b: g.Node, scope: Mapping[str, Sub] | None = None) -> tuple[Any, Any]:
        scope = scope or {}
        return self.eval(a, scope), self.eval(b, scope)

    def flat(self, v: Any) -> Array:
        """A value as a complex vector (multisets sorted), to compare two precisions."""
        mp = self.mp
        items = list(v) if isinstance(v, (list, mp.matrix)) else [v]
        out = np.array([complex(x) for x in items], dtype=complex)
        return out[np.lexsort((out.imag.round(6), out.real.round(6)))] if isinstance(v, list) else out

    def margin(self, a: g.Node, op: str, b: g.Node, scope: Mapping[str, Sub] | None = None) -> float:
        """The relative margin of ``a op b`` (an mpf at this precision; its sign decides)."""
        mp = self.mp
        scope = scope or {}
        ka, kb = self.sig.kind(a), self.sig.kind(b)
        x, y = self.sides(a, b, scope)
        if ka is g.Kind.ZERO:
            x = y * 0 if not isinstance(y, list) else [0 * v for v in y]
        if kb is g.Kind.ZERO:
            y = x * 0 if not isinstance(x, list) else [0 * v for v in x]
        if isinstance(x, mp.matrix) or isinstance(y, mp.matrix):
            diff = max((abs(v) for v in (x - y)), default=mp.mpf(0))
            scale = max([mp.mpf(1)] + [abs(v) for v in x] + [abs(v) for v in y])
            return -diff / scale
        if isinstance(x, list) or isinstance(y, list):
            xs = x if isinstance(x, list) else [x] * len(y)
            ys = y if isinstance(y, list) else [y] * len(x)
            if len(xs) != len(ys):
                raise _Unconfirmed
            scale = max([mp.mpf(1)] + [abs(v) for v in xs + ys])
            if op == "=":
                perms = itertools.permutations(range(len(ys))) if len(ys) <= 5 else [tuple(range(len(ys)))]
                if len(ys) > 5:
                    xs, ys = sorted(xs, key=lambda v: (mp.re(v), mp.im(v))), sorted(ys, key=lambda v: (mp.re(v), mp.im(v)))
                best = min(max((abs(xs[i] - ys[p[i]]) for i in range(len(xs))), default=mp.mpf(0)) for p in perms)
                return -best / scale
            rx, ry = sorted(self._real(v) for v in xs), sorted(self._real(v) for v in ys)
            diffs = [(v - u) if op in ("<=", "<") else (u - v) for u, v in zip(rx, ry)]
            return min(diffs, default=mp.mpf(0)) / scale
        rx, ry = self._real(x), self._real(y)
        scale = max(mp.mpf(1), abs(rx), abs(ry))
        diff = {"=": -abs(rx - ry), "<=": ry - rx, "<": ry - rx, ">=": rx - ry, ">": rx - ry}[op]
        return diff / scale


#: the precision tried last before a comparison is `undecided` (raised by long literals)
MAX_DIGITS = 320
#: after this many double-precision violations that certified arithmetic does not confirm, stop trying
MAX_UNCONFIRMED = 25
#: how many near ties (too close to call in floats) are certified per statement
MAX_NEAR = 40


@dataclass(frozen=True)
class _Decision:
    """The certified outcome of the statement at one instance.

    ``state``: "violated" (a comparison is false and every constraint holds), "holds"
    (every comparison is true), "undecided" (the enclosure of a margin still contains
    0 at the highest precision tried), "infeasible" (a constraint fails or cannot be
    certified), "failed" (the arithmetic could not be carried out). ``interval`` is the
    enclosure [lo, hi] of the deciding margin; ``comparison`` names it."""

    state: str
    interval: tuple[float, float] | None = None
    comparison: str = ""
    digits: int = 0


def _judge(op: str, m: Any, prev: Any, mp: Any, rounding: Any) -> tuple[str, Any, Any]:
    """Is a margin certainly on one side of 0? Its enclosure is m ± (10·|m − m'| +
    rounding), m' the same margin at half the precision, ``rounding`` the largest
    magnitude met times 10^(3 − digits) (0 when every value met was 0). Returns
    ("yes" | "no" | "?", lo, hi)."""
    r = 10 * abs(m - mp.mpf(prev)) + rounding
    lo, hi = m - r, m + r
    if op == "=":
        state = "yes" if (m == 0 and r == 0) else ("no" if hi < 0 else "?")
    elif op in ("<", ">"):
        state = "yes" if lo > 0 else ("no" if hi <= 0 else "?")
    else:
        state = "yes" if lo >= 0 else ("no" if hi < 0 else "?")
    return state, lo, hi


def _pass(
    claim: Claim, inst: _Instance, digits: int, cache: dict[Any, bool | None]
) -> tuple[_Precise, list[tuple[str, str, Any]], list[tuple[str, Any]]]:
    """One evaluation at ``digits`` digits: the margins of the statement's comparisons
    (label, op, margin) and of the constraints' comparisons and ranges (op, margin).
    ``cache`` keeps the exact premise checks, which do not depend on the precision."""
    p = _Precise(claim, inst, digits)
    rel = [(f"{g.render(a)} {op} {g.render(b)}", op, p.margin(a, op, b)) for a, op, b in claim.relation.links()]
    cons: list[tuple[str, Any]] = []
    for a, op, b in claim.rules.links:
        for binding in _bindings(list(p.cache), (a, b)):
            exact = _exact_norm_bound(claim, inst, a, op, b, binding, cache)
            if exact is None:
                cons.append((op, p.margin(a, op, b, binding)))
            elif not exact:
                cons.append(("<=", p.mp.mpf(-1)))  # certainly violated
    for rg in claim.rules.ranges:
        for key in list(p.cache):
            found = _match(rg.subject, key)
            if found is None:
                continue
            v, lo, hi = p.cache[key], p.eval(rg.lo, found), p.eval(rg.hi, found)
            for x in list(v) if isinstance(v, p.mp.matrix) else [v]:
                cons += [(">=", x - lo), (">=", hi - x)]
    return p, rel, cons


def _exact(v: Array) -> list[list[Fraction]]:
    """A matrix as printed, in exact rationals."""
    a = np.atleast_2d(np.asarray(v, dtype=float))
    return [[Fraction(repr(float(x))) for x in row] for row in a]


def _exact_mul(x: list[list[Fraction]], y: list[list[Fraction]]) -> list[list[Fraction]]:
    return [[sum((x[i][k] * y[k][j] for k in range(len(y))), Fraction(0)) for j in range(len(y[0]))] for i in range(len(x))]


def _exact_psd(x: list[list[Fraction]]) -> bool:
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


def _exact_property(v: Array, prop: str) -> bool:
    """Does a matrix as printed have the property (decided in exact rationals)?"""
    x = _exact(v)
    n = len(x)
    if prop == "diagonal":
        return all(x[i][j] == 0 for i in range(n) for j in range(n) if i != j)
    if prop == "symmetric":
        return all(x[i][j] == x[j][i] for i in range(n) for j in range(n))
    if prop == "skew":
        return all(x[i][j] == -x[j][i] for i in range(n) for j in range(n))
    if prop == "psd":
        return _exact_psd(x)
    if prop == "nilpotent":
        power = x
        for _ in range(n - 1):
            power = _exact_mul(power, x)
        return all(e == 0 for row in power for e in row)
    if prop == "orthogonal":
        xt = [list(r) for r in zip(*x)]
        eye = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
        return _exact_mul(xt, x) == eye
    raise SymresError(f"unknown property {prop}")


def _premises(claim: Claim, inst: _Instance) -> bool:
    """The properties and commutation constraints, on the values as printed, exactly (so
    an orthogonal matrix in a counterexample is one with rational entries, e.g. a signed
    permutation: a rounded rotation is not orthogonal and proves nothing)."""
    keys = list(inst.values)
    for name, prop in claim.rules.props:
        for key in keys:
            if _match(name, key) is not None:
                if not _exact_property(inst.values[key], prop):
                    return False
    for names in claim.rules.commute:
        members = [k for k in keys if any(_match(n, k) is not None for n in names)]
        for k1, k2 in itertools.combinations(members, 2):
            x, y = _exact(inst.values[k1]), _exact(inst.values[k2])
            if _exact_mul(x, y) != _exact_mul(y, x):
                return False
    return True


_XM = list[list[Fraction]]


def _exact_scalar(claim: Claim, inst: _Instance, node: g.Node, scope: Mapping[str, Sub]) -> Fraction | None:
    """A scalar node in exact rationals (see `_Exact`), or None."""
    v = _Exact(claim, inst).value(node, scope)
    return v if isinstance(v, Fraction) else None


class _Exact:
    """The statement on an instance as printed, in exact rationals: literals, symbols,
    + − · /, integer powers, transposes, finite products and sums, det and tr of any
    matrix, and norm, σ_min, ρ, |·| where they are rational (diagonal matrices: the 1×1
    counterexamples and the zero matrix among them). Anything else is None: the caller
    falls back to enclosures (`_certify`)."""

    MAX_STEPS = 20_000

    def __init__(self, claim: Claim, inst: _Instance) -> None:
        self.claim, self.inst, self.d = claim, inst, inst.d
        self.sig = claim.signature
        self.steps = 0

    def _eye(self, s: Fraction) -> _XM:
        return [[s if i == j else Fraction(0) for j in range(self.d)] for i in range(self.d)]

    def value(self, node: g.Node, scope: Mapping[str, Sub], depth: int = 0) -> Fraction | _XM | None:
        self.steps += 1
        if depth > 200 or self.steps > self.MAX_STEPS:
            return None
        kind = self.sig.kind(node)
        if isinstance(node, g.Num):
            return node.value
        if isinstance(node, g.Identity):
            return self._eye(Fraction(1))
        if isinstance(node, g.Neg):
            x = self.value(node.arg, scope, depth + 1)
            return _scale(x, Fraction(-1))
        if isinstance(node, g.Transpose):
            x = self.value(node.arg, scope, depth + 1)
            return [list(r) for r in zip(*x)] if isinstance(x, list) else x
        if isinstance(node, g.Name):
            return self._name(node, scope, depth)
        if isinstance(node, g.BinOp):
            x, y = self.value(node.left, scope, depth + 1), self.value(node.right, scope, depth + 1)
            if x is None or y is None:
                return None
            if node.op == "/":
                return _scale(x, 1 / y) if isinstance(y, Fraction) and y != 0 else None
            if node.op in "+-":
                sign = Fraction(1 if node.op == "+" else -1)
                if isinstance(x, Fraction) and isinstance(y, Fraction):
                    return x + sign * y
                if self.sig.kind(node.left) is g.Kind.ZERO:
                    return _scale(y, sign)
                if self.sig.kind(node.right) is g.Kind.ZERO:
                    return x
                if isinstance(x, list) and isinstance(y, list) and len(x) == len(y) and len(x[0]) == len(y[0]):
                    return [[p + sign * q for p, q in zip(r, t)] for r, t in zip(x, y)]
                return None
            if isinstance(x, Fraction):
                return _scale(y, x)
            if isinstance(y, Fraction):
                return _scale(x, y)
            if len(x[0]) != len(y):
                return None
            out = _exact_mul(x, y)
            return out[0][0] if kind is g.Kind.SCALAR and len(out) == 1 and len(out[0]) == 1 else out
        if isinstance(node, g.Pow):
            x, e = self.value(node.base, scope, depth + 1), self.value(node.exp, scope, depth + 1)
            if x is None or not isinstance(e, Fraction) or e.denominator != 1 or not 0 <= e <= 64:
                if isinstance(x, Fraction) and isinstance(e, Fraction) and e.denominator == 1 and abs(e) <= 64 and x != 0:
                    return x ** int(e)
                return None
            if isinstance(x, Fraction):
                return x ** int(e)
            out = self._eye(Fraction(1))
            for _ in range(int(e)):
                out = _exact_mul(out, x)
            return out
        if isinstance(node, g.Call):
            return self._call(node.func, self.value(node.arg, scope, depth + 1))
        if isinstance(node, g.Reduce):
            lo, hi = self.value(node.lo, scope, depth + 1), self.value(node.hi, scope, depth + 1)
            if not (isinstance(lo, Fraction) and isinstance(hi, Fraction)) or hi - lo + 1 > 200:
                return None
            acc: Fraction | _XM | None = None
            for i in range(int(lo), int(hi) + 1):
                v = self.value(node.body, {**scope, node.var: i}, depth + 1)
                if v is None:
                    return None
                if acc is None:
                    acc = v
                elif node.op == "sum":
                    acc = acc + v if isinstance(acc, Fraction) and isinstance(v, Fraction) else None
                    if acc is None:
                        return None
                else:
                    acc = acc * v if isinstance(acc, Fraction) and isinstance(v, Fraction) else _prod(v, acc)
                    if acc is None:
                        return None
            if acc is None:
                return Fraction(1 if node.op == "prod" else 0) if kind is g.Kind.SCALAR else None
            return acc
        return None

    def _name(self, node: g.Name, scope: Mapping[str, Sub], depth: int) -> Fraction | _XM | None:
        if node.sub is None and node.base in scope:
            v = scope[node.base]
            return Fraction(v) if isinstance(v, int) else None
        sub: Sub = None
        if node.sub is not None:
            sub = scope[node.sub] if node.sub in scope else (int(node.sub) if node.sub.isdigit() else node.sub)
        key: Key = (node.base, sub)
        if sub is None and node.base in self.inst.ints:
            return Fraction(self.inst.ints[node.base])
        for dfn in self.claim.rules.defs:
            binding = _match(dfn.target, key)
            if binding is not None:
                if self.sig.kind(dfn.expr) is g.Kind.ZERO:
                    kind = self.sig.kinds[node.base]
                    if kind is g.Kind.SCALAR:
                        return Fraction(0)
                    return [[Fraction(0)] * (self.d if kind is g.Kind.MATRIX else 1) for _ in range(self.d)]
                return self.value(dfn.expr, binding, depth + 1)
        found = self.inst.values.get(key)
        if found is None:
            return None
        return Fraction(repr(float(found))) if np.ndim(found) == 0 else _exact(found)

    def _call(self, f: str, x: Fraction | _XM | None) -> Fraction | _XM | None:
        if x is None:
            return None
        if isinstance(x, Fraction):
            if f in ("abs", "norm"):
                return abs(x)
            if f == "exp" and x == 0:
                return Fraction(1)
            return None
        n = len(x)
        if len(x[0]) != n:  # a vector: its norm is rational when the sum of squares is a square
            if f != "norm":
                return None
            return _exact_sqrt(sum((e * e for row in x for e in row), Fraction(0)))
        if f == "det":
            return _exact_det(x)
        if f == "tr":
            return sum((x[i][i] for i in range(n)), Fraction(0))
        diagonal = all(x[i][j] == 0 for i in range(n) for j in range(n) if i != j)
        if not diagonal:
            return None
        mags = [abs(x[i][i]) for i in range(n)]
        if f in ("norm", "smax", "rho"):
            return max(mags)
        if f == "smin":
            return min(mags)
        if f == "exp" and all(x[i][i] == 0 for i in range(n)):
            return self._eye(Fraction(1))
        return None


def _exact_sqrt(q: Fraction) -> Fraction | None:
    """√q when it is rational, else None."""
    p, r = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(p, r) if p * p == q.numerator and r * r == q.denominator else None


def _scale(x: Fraction | _XM | None, s: Fraction) -> Fraction | _XM | None:
    if x is None:
        return None
    if isinstance(x, Fraction):
        return x * s
    return [[s * e for e in row] for row in x]


def _prod(later: Fraction | _XM, acc: Fraction | _XM) -> Fraction | _XM | None:
    """``later · acc`` (a product keeps later factors on the left)."""
    if isinstance(later, Fraction):
        return _scale(acc, later)
    if isinstance(acc, Fraction):
        return _scale(later, acc)
    return _exact_mul(later, acc) if len(later[0]) == len(acc) else None


def _exact_norm_bound(
    claim: Claim, inst: _Instance, a: g.Node, op: str, b: g.Node, scope: Mapping[str, Sub], cache: dict[Any, bool | None]
) -> bool | None:
    """A premise ``norm(J) <= c`` (or <, or written the other way round) decided exactly
    on the values as printed: ‖J‖ ≤ c ⟺ c ≥ 0 and c² I − JᵀJ is positive semidefinite
    (definite for <). None when it is not of that form."""
    if op in (">=", ">"):
        a, b, op = b, a, {">=": "<=", ">": "<"}[op]
    if op not in ("<=", "<") or not (isinstance(a, g.Call) and a.func in ("norm", "smax") and isinstance(a.arg, g.Name)):
        return None
    name = a.arg
    sub: Sub = None if name.sub is None else (scope.get(name.sub) or (int(name.sub) if name.sub.isdigit() else name.sub))
    memo = (id(a), op, id(b), sub)
    if memo not in cache:
        cache[memo] = _exact_norm_bound_uncached(claim, inst, name, sub, op, b, scope)
    return cache[memo]


def _exact_norm_bound_uncached(
    claim: Claim, inst: _Instance, name: g.Name, sub: Sub, op: str, b: g.Node, scope: Mapping[str, Sub]
) -> bool | None:
    v = inst.values.get((name.base, sub))
    c = _exact_scalar(claim, inst, b, scope)
    if v is None or c is None or any(_match(dfn.target, (name.base, sub)) is not None for dfn in claim.rules.defs):
        return None
    x = _exact(v)
    gram = _exact_mul([list(r) for r in zip(*x)], x)
    n = len(gram)
    m = [[(c * c if i == j else Fraction(0)) - gram[i][j] for j in range(n)] for i in range(n)]
    if op == "<=":
        return c >= 0 and _exact_psd(m)
    return c > 0 and _exact_psd(m) and _exact_det(m) != 0


def _exact_det(x: list[list[Fraction]]) -> Fraction:
    return det_by_elimination(x, Fraction(1))


def det_by_elimination(rows: list[list[Any]], one: Any) -> Any:
    """det of the square matrix `rows` by Gaussian elimination with partial pivoting, in
    the arithmetic of `one` (Fraction: exact; mpmath mpf: at its precision, with no
    singularity threshold). `rows` is not changed."""
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


def _literal_digits(claim: Claim) -> int:
    """The most digits a literal of the statement needs (1e-300 needs 300)."""
    most = 0
    for n in g._walk(claim.statement.relation):
        if isinstance(n, g.Num):
            mantissa, _, exponent = n.text.lower().partition("e")
            most = max(most, len(mantissa) + abs(int(exponent or 0)))
    for c in claim.statement.constraints:
        for root in g._constraint_nodes(c):
            for n in g._walk(root):
                if isinstance(n, g.Num):
                    mantissa, _, exponent = n.text.lower().partition("e")
                    most = max(most, len(mantissa) + abs(int(exponent or 0)))
    return most


def _decide_exactly(claim: Claim, inst: _Instance) -> _Decision | None:
    """The statement decided in exact rationals when every comparison (of the statement
    and of its premises) is between rational expressions of literals and scalar
    symbols as printed (``1 + 1e-30 > 1``, ``c + m <= c where 0 <= c <= 1``); else None."""
    cache: dict[Any, bool | None] = {}
    for a, op, b in claim.rules.links:
        for binding in _bindings(list(inst.values), (a, b)):
            held = _exact_norm_bound(claim, inst, a, op, b, binding, cache)
            if held is None:
                lhs, rhs = _exact_scalar(claim, inst, a, binding), _exact_scalar(claim, inst, b, binding)
                if lhs is None or rhs is None:
                    return None
                held = _compare(lhs, op, rhs)
            if not held:
                return _Decision("infeasible")
    for rg in claim.rules.ranges:
        for key, v in inst.values.items():
            if _match(rg.subject, key) is None:
                continue
            lo, hi = _exact_scalar(claim, inst, rg.lo, {}), _exact_scalar(claim, inst, rg.hi, {})
            if lo is None or hi is None or np.ndim(v) != 0:
                return None
            if not lo <= Fraction(repr(float(v))) <= hi:
                return _Decision("infeasible")
    ex = _Exact(claim, inst)
    for a, op, b in claim.relation.links():
        x: Fraction | _XM | None = ex.value(a, {})
        y: Fraction | _XM | None = ex.value(b, {})
        if isinstance(x, list) or isinstance(y, list):
            if op != "=":
                return None
            if not isinstance(x, list):
                if claim.signature.kind(a) is not g.Kind.ZERO or not isinstance(y, list):
                    return None
                x = [[Fraction(0)] * len(y[0]) for _ in y]
            if not isinstance(y, list):
                if claim.signature.kind(b) is not g.Kind.ZERO:
                    return None
                y = [[Fraction(0)] * len(x[0]) for _ in x]
            if len(x) != len(y) or len(x[0]) != len(y[0]):
                return None
            dist = max(abs(p - q) for r, t in zip(x, y) for p, q in zip(r, t))
            if dist != 0:
                return _Decision("violated", (-_to_float(dist),) * 2, f"{g.render(a)} {op} {g.render(b)}", 0)
            continue
        if not isinstance(x, Fraction) or not isinstance(y, Fraction):
            return None
        if not _compare(x, op, y):
            m = _to_float(y - x if op in ("<", "<=") else x - y) if op != "=" else -_to_float(abs(x - y))
            return _Decision("violated", (m, m), f"{g.render(a)} {op} {g.render(b)}", 0)
    return _Decision("holds")


def _compare(x: Fraction, op: str, y: Fraction) -> bool:
    return {"<=": x <= y, "<": x < y, ">=": x >= y, ">": x > y, "=": x == y}[op]


def _certify(claim: Claim, inst: _Instance, *, constant: bool = False) -> _Decision:
    """Decide the statement at one instance (its values as printed) with certified
    precision: evaluate at D and 2D digits (D = 40 plus what the largest magnitude met
    can cancel), enclose every margin (see `_judge`) and double the precision while an
    enclosure contains 0, up to `MAX_DIGITS` (more for long literals). A non-strict
    comparison whose enclosure still contains 0 at the last precision is counted as
    holding at that point (equality within 10^-D); a strict one, or any comparison of
    a statement without free symbols (``constant``), is "undecided"."""
    import mpmath

    if not _premises(claim, inst):
        return _Decision("infeasible")
    exact = _decide_exactly(claim, inst)
    if exact is not None:
        return exact
    try:
        with np.errstate(all="ignore"):
            cache: dict[Any, bool | None] = {}
            p, prev_rel, prev_cons = _pass(claim, inst, PRECISE_DIGITS, cache)
            digits = PRECISE_DIGITS + int(math.ceil(inst.d * math.log10(max(p.peak, 1.0))))
            top = max(MAX_DIGITS, 4 * _literal_digits(claim) + 80, 2 * digits)
            if digits > PRECISE_DIGITS:
                _, prev_rel, prev_cons = _pass(claim, inst, digits, cache)
            while True:
                digits *= 2
                p, rel, cons = _pass(claim, inst, digits, cache)
                mp = p.mp
                rounding = p.big * mp.mpf(10) ** (3 - digits)
                judged = [(lab, op, *_judge(op, m, pm, mp, rounding)) for (lab, op, m), (_, _, pm) in zip(rel, prev_rel)]
                judged_cons = [(op, *_judge(op, m, pm, mp, rounding)) for (op, m), (_, pm) in zip(cons, prev_cons)]
                last = 2 * digits > top
                if any(st == "no" for _, st, _, _ in judged_cons) or (
                    last and any(st == "?" and op in ("<", ">") for op, st, _, _ in judged_cons)
                ):
                    return _Decision("infeasible", digits=digits)
                cons_open = not last and any(st == "?" for _, st, _, _ in judged_cons)
                for lab, _op, st, lo, hi in judged:
                    if st == "no" and not cons_open:
                        return _Decision("violated", (float(lo), float(hi)), lab, digits)
                open_ = [(lab, op, lo, hi) for lab, op, st, lo, hi in judged if st == "?"]
                if not open_ and not cons_open:
                    return _Decision("holds", digits=digits)
                if last:
                    for lab, op, lo, hi in open_:
                        if constant or op in ("<", ">"):
                            return _Decision("undecided", (float(lo), float(hi)), lab, digits)
                    return _Decision("holds", digits=digits)
                prev_rel, prev_cons = rel, cons
    except (_Unconfirmed, ArithmeticError, mpmath.libmp.NoConvergence):
        return _Decision("failed")
