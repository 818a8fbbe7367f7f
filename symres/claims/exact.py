"""Exact decisions at one instance: the statement in rational arithmetic on the values as
printed (`_decide_exactly`), and the premises (properties, commutation, norm bounds)
decided exactly (`_premises`, `_exact_norm_bound`).

Part of `symres.claims` (see its docstring for the verdicts and the method).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
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


@dataclass(frozen=True)
class _Decision:
    """The certified outcome of the statement at one instance.

    ``state``: "violated" (a comparison is false and every constraint holds), "holds"
    (every comparison is true), "undecided" (the enclosure of a margin still contains
    0 at the highest precision tried), "infeasible" (a constraint fails or cannot be
    certified), "failed" (the arithmetic could not be carried out). ``interval`` is the
    enclosure [lo, hi] of the deciding margin (as doubles), ``text`` the same enclosure
    written at 3 significant digits without underflow (``[-2.4e-481, 1.1e-481]``);
    ``comparison`` names the comparison; ``digits`` is the precision that decided (0:
    exact rationals)."""

    state: str
    interval: tuple[float, float] | None = None
    comparison: str = ""
    digits: int = 0
    text: str = ""


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
